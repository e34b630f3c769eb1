"""Tables every service schema has: the outbox (which doubles as the service's event log),
the processed-event ids of its idempotent consumers, and its append-only audit log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("version", Integer, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Index("outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )


def processed_event_table(metadata: MetaData) -> Table:
    return Table(
        "processed_event",
        metadata,
        Column("event_id", UUID(as_uuid=False), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor", String(64)),
        Column("on_behalf_of", String(64)),
        Column("entity", String(64), nullable=False),
        Column("entity_id", String(128), nullable=False),
        Column("student", String(64)),
        Column("action", String(64), nullable=False),
        Column("old", JSONB),
        Column("new", JSONB),
        Column("reason", Text),
        Column("approval", Text),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
        Index("audit_entity", "entity", "entity_id"),
        Index("audit_student", "student"),
    )


def add_kernel_tables(metadata: MetaData) -> dict[str, Table]:
    return {
        "outbox": outbox_table(metadata),
        "processed_event": processed_event_table(metadata),
        "audit_log": audit_table(metadata),
    }


APPEND_ONLY_TRIGGER = """
CREATE OR REPLACE FUNCTION {schema}.audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_log_append_only ON {schema}.audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.audit_log_append_only();
CREATE SEQUENCE IF NOT EXISTS {schema}.audit_log_id_seq;
"""


def schema_base(schema: str) -> type[DeclarativeBase]:
    """The declarative base of a service's models: its schema's metadata, with the kernel tables already in it."""
    metadata = MetaData(schema=schema)
    add_kernel_tables(metadata)
    return type("Base", (DeclarativeBase,), {"metadata": metadata, "__abstract__": True})
