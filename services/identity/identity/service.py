"""Identity: the only writer of the institution's structure, people, accounts, load and orders.
Entrypoints only translate: each calls its use-case in `handlers` (which loads through `queries`, lets `domain`
decide and records state, events and audit entries in the worker's unit of work), commits, answers."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from identity import handlers
from kernel.db import Database
from kernel.metrics import DomainGauge
from kernel.service import ServiceBase
from kernel.wire import policy


class IdentityService(ServiceBase):
    name = "identity"
    db = Database()
    domain_gauges = (
        DomainGauge("ejournal_people", "People by kind", "SELECT kind, count(*) FROM identity.person GROUP BY kind",
                    ("kind",)),
        DomainGauge("ejournal_accounts", "Accounts, active or not",
                    "SELECT active, count(*) FROM identity.account GROUP BY active", ("active",)),
        DomainGauge("ejournal_api_tokens", "Integration tokens by state",
                    "SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired'"
                    " ELSE 'active' END, count(*) FROM identity.api_token GROUP BY 1", ("state",)),
    )

    # -- accounts ---------------------------------------------------------------------------
    @rpc
    def authenticate(self, login: str, password: str) -> dict[str, Any]:
        return handlers.authenticate(self.db, login, password)

    @rpc
    def change_password(self, code: str, old_password: str, new_password: str) -> dict[str, Any]:
        result = handlers.change_password(self.db, code, old_password, new_password)
        self.db.commit()
        return result

    @rpc
    def person(self, code: str) -> dict[str, Any]:
        return handlers.person(self.db, code)

    # -- imports ----------------------------------------------------------------------------
    @rpc
    def import_contingent(self, body: Any, actor: str) -> dict[str, Any]:
        result = handlers.import_contingent(self.db, body, actor)
        self.db.commit()
        return result

    @rpc
    def import_load(self, body: Any, actor: str) -> dict[str, Any]:
        result = handlers.import_load(self.db, body, actor)
        self.db.commit()
        return result

    # -- orders and substitutions -----------------------------------------------------------------
    @rpc
    def issue_order(self, body: Any, actor: str) -> dict[str, Any]:
        result = handlers.issue_order(self.db, body, actor)
        self.db.commit()
        return result

    @rpc
    def create_substitution(self, body: Any, actor: str) -> dict[str, Any]:
        result = handlers.create_substitution(self.db, body, actor)
        self.db.commit()
        return result

    # -- integration tokens (API.md "Integration tokens") ---------------------------------------------
    @rpc
    def create_token(self, body: Any, token_hash: str, hint: str, actor: str) -> dict[str, Any]:
        """Store a token the gateway minted: only its hash arrives here. Answers its state, hash included."""
        result = handlers.create_token(self.db, policy(), body, token_hash, hint, actor)
        self.db.commit()
        return result

    @rpc
    def revoke_token(self, token_id: Any, actor: str) -> dict[str, Any]:
        """Revoke a token; revoking it again changes nothing. Answers its state, hash included."""
        result = handlers.revoke_token(self.db, policy(), token_id, actor)
        self.db.commit()
        return result

    @rpc
    def get_token(self, token_id: Any) -> dict[str, Any]:
        return handlers.get_token(self.db, policy(), token_id)

    @rpc
    def list_tokens(self, limit: int = 100, cursor: Any = None) -> dict[str, Any]:
        return handlers.list_tokens(self.db, policy(), limit, cursor)

    @rpc
    def department_of(self, code: str) -> str | None:
        return handlers.department_of(self.db, code)

    @rpc
    def institution(self) -> dict[str, Any]:
        return handlers.institution(self.db)
