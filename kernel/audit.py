"""Append-only, hash-chained audit trail (RULES.md §9: who, when, what, justification, approval).

Entries form one chain per stream (`chain`: the entity's natural key, e.g. `session:12`, `excuse:7`;
`main` for callers that name none). Each entry's hash covers its fields, its chain key and the previous
entry's hash in the same chain, so changing or removing any entry breaks its chain from that point on.
Appends to one chain are serialised by a transaction-level advisory lock on that chain only, so writes
to different sessions do not wait for each other; ids are drawn under the lock, so within a chain id
order is link order. The service role has no UPDATE/DELETE grant on the table and a trigger refuses both.

A schema migrated with `kernel.migrate.add_audit_chains` has the `chain` column and `audit_head()`;
an older schema keeps its single chain (every entry goes to `main`) until it is migrated.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger("kernel.audit")

GENESIS = "0" * 64
MAIN = "main"  # the chain of callers that name none, and of every entry written before chains existed
FIELDS = ("id", "at", "actor", "on_behalf_of", "entity", "entity_id", "student", "action", "old", "new",
          "reason", "approval")
COLUMNS = (*FIELDS, "chain", "prev_hash", "hash")

_chained: dict[str, bool] = {}  # schema -> has the chain column and audit_head() (checked once per process)


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    body = {k: entry.get(k) for k in FIELDS}
    body["at"] = _canonical_time(entry["at"])
    chain = entry.get("chain") or MAIN
    if chain != MAIN:  # `main` entries hash as they did before chains existed; any other key is covered
        body["chain"] = chain
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + "\n" + blob).encode()).hexdigest()


def new_entry(*, at: datetime, entity: str, entity_id: Any, action: str, actor: str | None = None,
              on_behalf_of: str | None = None, student: str | None = None, old: Any = None, new: Any = None,
              reason: str | None = None, approval: str | None = None, chain: str | None = None) -> dict[str, Any]:
    """An entry not yet linked: `link` gives it its id, prev_hash and hash."""
    return {"id": None, "at": at, "actor": actor, "on_behalf_of": on_behalf_of, "entity": entity,
            "entity_id": str(entity_id), "student": student, "action": action, "old": _jsonable(old),
            "new": _jsonable(new), "reason": reason, "approval": approval, "chain": chain or MAIN}


def chained(conn: Any, schema: str) -> bool:
    if schema not in _chained:
        _chained[schema] = bool(conn.execute(
            text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": f"{schema}.audit_head(text)"}).scalar())
        if not _chained[schema]:
            log.warning("%s.audit_log has no per-stream chains yet: every entry goes to chain %r", schema, MAIN)
    return _chained[schema]


def lock_key(schema: str, chain: str) -> str:
    # `main` keeps the key of the single-chain era, so an old and a new process never link the same chain apart
    return f"{schema}.audit_log" if chain == MAIN else f"{schema}.audit_log:{chain}"


def link(conn: Any, schema: str, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lock the entries' chains (in key order, so two writers cannot deadlock), read each chain's head, draw
    ids and compute the hashes, in the caller's transaction; returns the entries, completed, in order."""
    if not entries:
        return []
    if chained(conn, schema):
        keys = sorted({e["chain"] for e in entries})
        # the lock is taken in a fenced subquery before audit_head() reads, and audit_head (plpgsql, volatile)
        # reads with a snapshot of its own, taken after the lock: it sees the last holder's committed entry
        rows = conn.execute(text(
            f"SELECT l.k, {schema}.audit_head(l.k), NULL::bigint FROM"
            f" (SELECT k, pg_advisory_xact_lock(hashtext(CASE WHEN k = 'main' THEN :base"
            f" ELSE :base || ':' || k END)) FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS u(k, n)"
            f" ORDER BY n OFFSET 0) l"
            f" UNION ALL SELECT NULL, NULL, nextval('{schema}.audit_log_id_seq') FROM generate_series(1, :n)"
        ), {"keys": keys, "base": f"{schema}.audit_log", "n": len(entries)}).all()
    else:
        for e in entries:
            e["chain"] = MAIN
        keys = [MAIN]
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": lock_key(schema, MAIN)})
        rows = conn.execute(text(
            f"SELECT 'main', (SELECT hash FROM {schema}.audit_log ORDER BY id DESC LIMIT 1), NULL::bigint"
            f" UNION ALL SELECT NULL, NULL, nextval('{schema}.audit_log_id_seq') FROM generate_series(1, :n)"
        ), {"n": len(entries)}).all()
    heads = {r[0]: r[1] or GENESIS for r in rows[:len(keys)]}
    ids = sorted(r[2] for r in rows[len(keys):])
    for entry, entry_id in zip(entries, ids, strict=True):
        entry["id"] = entry_id
        entry["prev_hash"] = heads[entry["chain"]]
        entry["hash"] = entry_hash(entry, entry["prev_hash"])
        heads[entry["chain"]] = entry["hash"]
    return list(entries)


def insert_sql(schema: str, entries: Sequence[Mapping[str, Any]], params: dict[str, Any],
               with_chain: bool = True) -> str:
    """One multi-row INSERT of linked entries (pyformat, for `exec_driver_sql`); fills `params`."""
    columns = [c for c in COLUMNS if with_chain or c != "chain"]
    values = []
    for i, e in enumerate(entries):
        cells = []
        for c in columns:
            name = f"a{i}_{c}"
            value = e.get(c)
            if c in ("old", "new"):
                params[name] = json.dumps(value, ensure_ascii=False) if value is not None else None
                cells.append(f"CAST(%({name})s AS jsonb)")
            else:
                params[name] = value
                cells.append(f"%({name})s")
        values.append(f"({', '.join(cells)})")
    return f"INSERT INTO {schema}.audit_log ({', '.join(columns)}) VALUES {', '.join(values)}"


def append(conn: Any, schema: str, *, at: datetime, entity: str, entity_id: str, action: str,
           actor: str | None = None, on_behalf_of: str | None = None, student: str | None = None,
           old: Any = None, new: Any = None, reason: str | None = None, approval: str | None = None,
           chain: str | None = None) -> dict:
    """Append one entry inside the caller's transaction; returns the stored entry."""
    entry = new_entry(at=at, entity=entity, entity_id=entity_id, action=action, actor=actor,
                      on_behalf_of=on_behalf_of, student=student, old=old, new=new, reason=reason,
                      approval=approval, chain=chain)
    link(conn, schema, [entry])
    params: dict[str, Any] = {}
    sql = insert_sql(schema, [entry], params, with_chain=chained(conn, schema))
    driver(conn).exec_driver_sql(sql, params)
    return entry


def driver(conn: Any) -> Any:
    """The SQLAlchemy Connection under a Session (or the Connection itself), for pyformat SQL."""
    return conn.connection() if isinstance(conn, Session) else conn


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str)) if value is not None else None


def verify_entries(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Walk every chain in id order; report the first entry (by id) whose link or hash does not hold."""
    heads: dict[str, str] = {}
    count = 0
    for row in rows:
        count += 1
        chain = row.get("chain") or MAIN
        prev_hash = heads.get(chain, GENESIS)
        if row["prev_hash"] != prev_hash or entry_hash(row, prev_hash) != row["hash"]:
            return {"ok": False, "entries": count, "first_bad": row["id"], "chains": len(heads)}
        heads[chain] = row["hash"]
    return {"ok": True, "entries": count, "first_bad": None, "chains": len(heads)}


def verify(conn: Any, schema: str) -> dict[str, Any]:
    result = conn.execute(text(f"SELECT * FROM {schema}.audit_log ORDER BY id"))
    return verify_entries(dict(r._mapping) for r in result)


def entries(conn: Any, schema: str, *, entity: str | None = None, entity_id: str | None = None,
            student: str | None = None, chain: str | None = None, limit: int = 500,
            after: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """This schema's entries in time order (at, id). `after` is the last entry of an earlier page of a list merged
    across services, `(at, service, id)`: the entries that come after it in (at, service, id) order."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("entity", entity), ("entity_id", entity_id), ("student", student), ("chain", chain)):
        if value is not None:
            where.append(f"{name} = :{name}")
            params[name] = value
    if after is not None:
        params["after_at"], service, params["after_id"] = after
        where.append("at >= :after_at" if schema > service else "(at, id) > (:after_at, :after_id)"
                     if schema == service else "at > :after_at")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        text(f"SELECT * FROM {schema}.audit_log {clause} ORDER BY at, id LIMIT :limit"), params
    )
    return [dict(r._mapping) for r in rows]
