"""Append-only, hash-chained audit trail (RULES.md §9: who, when, what, justification, approval).

Each entry's hash covers its fields and the previous entry's hash, so changing or removing any
entry breaks the chain from that point on. Appends are serialised per schema by a transaction-level
advisory lock; the service role has no UPDATE/DELETE grant on the table and a trigger refuses both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

GENESIS = "0" * 64
FIELDS = ("id", "at", "actor", "on_behalf_of", "entity", "entity_id", "student", "action", "old", "new",
          "reason", "approval")


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    body = {k: entry.get(k) for k in FIELDS}
    body["at"] = _canonical_time(entry["at"])
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + "\n" + blob).encode()).hexdigest()


def append(conn: Any, schema: str, *, at: datetime, entity: str, entity_id: str, action: str,
           actor: str | None = None, on_behalf_of: str | None = None, student: str | None = None,
           old: Any = None, new: Any = None, reason: str | None = None, approval: str | None = None) -> dict:
    """Append one entry inside the caller's transaction; returns the stored entry."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{schema}.audit_log"})
    prev = conn.execute(text(f"SELECT hash FROM {schema}.audit_log ORDER BY id DESC LIMIT 1")).scalar()
    entry_id = conn.execute(text(f"SELECT nextval('{schema}.audit_log_id_seq')")).scalar()
    entry = {
        "id": entry_id, "at": at, "actor": actor, "on_behalf_of": on_behalf_of, "entity": entity,
        "entity_id": str(entity_id), "student": student, "action": action,
        "old": _jsonable(old), "new": _jsonable(new), "reason": reason, "approval": approval,
    }
    prev_hash = prev or GENESIS
    entry["prev_hash"] = prev_hash
    entry["hash"] = entry_hash(entry, prev_hash)
    conn.execute(
        text(
            f"INSERT INTO {schema}.audit_log (id, at, actor, on_behalf_of, entity, entity_id, student, action,"
            " old, new, reason, approval, prev_hash, hash) VALUES (:id, :at, :actor, :on_behalf_of, :entity,"
            " :entity_id, :student, :action, CAST(:old AS jsonb), CAST(:new AS jsonb), :reason, :approval,"
            " :prev_hash, :hash)"
        ),
        {**entry, "old": json.dumps(entry["old"], ensure_ascii=False),
         "new": json.dumps(entry["new"], ensure_ascii=False)},
    )
    return entry


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str)) if value is not None else None


def verify_entries(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Walk the chain in id order; report the first entry whose link or hash does not hold."""
    prev_hash = GENESIS
    count = 0
    for row in rows:
        count += 1
        if row["prev_hash"] != prev_hash or entry_hash(row, prev_hash) != row["hash"]:
            return {"ok": False, "entries": count, "first_bad": row["id"]}
        prev_hash = row["hash"]
    return {"ok": True, "entries": count, "first_bad": None}


def verify(conn: Any, schema: str) -> dict[str, Any]:
    result = conn.execute(text(f"SELECT * FROM {schema}.audit_log ORDER BY id"))
    return verify_entries(dict(r._mapping) for r in result)


def entries(conn: Any, schema: str, *, entity: str | None = None, entity_id: str | None = None,
            student: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("entity", entity), ("entity_id", entity_id), ("student", student)):
        if value is not None:
            where.append(f"{name} = :{name}")
            params[name] = value
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        text(f"SELECT * FROM {schema}.audit_log {clause} ORDER BY id LIMIT :limit"), params
    )
    return [dict(r._mapping) for r in rows]
