"""Integration tokens at the HTTP edge (API.md "Integration tokens").

Identity owns the tokens (it stores them, hashed, and emits `token.changed`); the gateway mints each token so that
it crosses neither the broker nor a database, shows it once, keeps the read model authentication needs
(`gateway.api_token`: no RPC per request) and counts every use: in memory per request, added to
`gateway.api_token_use` in one statement every `EJOURNAL_TOKEN_USE_FLUSH_SECONDS` (`TokenUses`). A process that
dies loses at most that last second of counts.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from werkzeug.wrappers import Request

from contracts.identity import TokenCreatedSchema, TokenListSchema, TokenRequestSchema, TokenSchema
from gateway import auth
from gateway.access import Caller
from gateway.http import limit_of, route
from gateway.models import ApiTokenUse
from gateway.projections import TOKENS, token_changes
from kernel import clock
from kernel.config import settings
from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.projections import apply, write
from kernel.wire import iso, policy

log = logging.getLogger("gateway.tokens")


class TokenUses(DependencyProvider):
    """`token_uses = TokenUses()`: `record(token, at)` per request; the counts reach the database in batches."""

    def setup(self) -> None:
        self.pending: dict[int, tuple[int, datetime]] = {}
        self.engine: Any = None
        self.loop: Any = None

    def start(self) -> None:
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.engine = database.engine  # kept: still usable for the last flush after the pool is disposed
        self.loop = self.container.spawn_managed_thread(self._run, identifier="token-uses")

    def _run(self) -> None:
        while True:
            eventlet.sleep(settings().token_use_flush_seconds)
            self.flush()

    def record(self, token: int, at: datetime) -> None:
        count, _ = self.pending.get(token, (0, at))
        self.pending[token] = (count + 1, at)

    def flush(self) -> None:
        if not self.pending or self.engine is None:
            return
        batch, self.pending = self.pending, {}  # no yield in between: no use is counted twice or lost
        stmt = insert(ApiTokenUse).values([{"token": t, "uses": n, "last_used_at": at}
                                           for t, (n, at) in sorted(batch.items())])
        stmt = stmt.on_conflict_do_update(index_elements=["token"], set_={
            "uses": ApiTokenUse.uses + stmt.excluded.uses,
            "last_used_at": func.greatest(ApiTokenUse.last_used_at, stmt.excluded.last_used_at)})
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt)
        except Exception:  # noqa: BLE001 - keep the counts for the next flush
            log.warning("could not store token uses; keeping them for the next flush", exc_info=True)
            for token, (n, at) in batch.items():
                count, last = self.pending.get(token, (0, at))
                self.pending[token] = (count + n, max(last, at))

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.kill()
            self.loop = None
        self.flush()

    def kill(self) -> None:
        if self.loop is not None:
            self.loop.kill()
            self.loop = None

    def get_dependency(self, worker_ctx: Any) -> TokenUses:
        return self


def apply_token(session: Session, state: dict[str, Any]) -> None:
    """A token's state (`token.changed`, or identity's answer to the route that changed it): a newer revision
    wins, in one statement, so the event and the route's own write can race harmlessly."""
    write(session, TOKENS, None, token_changes(state))


class TokenRoutes:
    """Mixed into GatewayService; relies on its `db`, `identity` and `token_uses`."""

    def token_view(self, state: dict[str, Any], use: ApiTokenUse | None) -> dict[str, Any]:
        view = {k: v for k, v in state.items() if k not in ("token_hash", "revision")}
        expires = datetime.fromisoformat(state["expires"]) if state.get("expires") else None
        view["active"] = auth.token_usable(state["active"], expires, clock.real_now())
        view["use_count"] = use.uses if use else 0
        view["last_used_at"] = iso(policy(), use.last_used_at) if use else None
        return view

    def uses_of(self, ids: list[int]) -> dict[int, ApiTokenUse]:
        self.token_uses.flush()  # this process's uncounted uses first
        rows = self.db.tx.scalars(select(ApiTokenUse).where(ApiTokenUse.token.in_(ids))) if ids else []
        return {u.token: u for u in rows}

    @route("POST", "/api/v1/tokens", summary="Create an integration token for a faculty system (shown once)",
           roles=("it_admin",), body=TokenRequestSchema, answer=TokenCreatedSchema, status=201)
    def create_token(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        token, token_hash, hint = auth.new_api_token()
        state = self.identity.call("create_token", json.loads(request.get_data()), token_hash, hint, caller.code)
        apply_token(self.db.tx, state)  # usable at once, before the event arrives
        self.db.commit()
        return {**self.token_view(state, None), "token": token}

    @route("GET", "/api/v1/tokens", summary="Integration tokens with their last use and use count",
           roles=("it_admin",), answer=TokenListSchema, params={"limit": "at most 500", "cursor": "from next_cursor"})
    def list_tokens(self, request: Request, caller: Caller, body: None) -> Any:
        page = self.identity.call("list_tokens", limit=limit_of(request), cursor=request.args.get("cursor"))
        uses = self.uses_of([t["id"] for t in page["items"]])
        return {"items": [self.token_view(t, uses.get(t["id"])) for t in page["items"]],
                "next_cursor": page["next_cursor"]}

    @route("GET", "/api/v1/tokens/<int:token_id>", summary="One integration token", roles=("it_admin",),
           answer=TokenSchema)
    def get_token(self, request: Request, caller: Caller, body: None, token_id: int) -> Any:
        state = self.identity.call("get_token", token_id)
        return self.token_view(state, self.uses_of([token_id]).get(token_id))

    @route("DELETE", "/api/v1/tokens/<int:token_id>", summary="Revoke an integration token", roles=("it_admin",),
           answer=TokenSchema)
    def revoke_token(self, request: Request, caller: Caller, body: None, token_id: int) -> Any:
        state = self.identity.call("revoke_token", token_id, caller.code)
        apply_token(self.db.tx, state)  # refused from now on, before the event arrives
        self.db.commit()
        return self.token_view(state, self.uses_of([token_id]).get(token_id))

    # -- the token read model, from identity's events ---------------------------------------------------
    @handles("identity", "token.changed")
    def on_token_changed(self, event: Envelope) -> None:
        apply(self.db, [TOKENS], event)
