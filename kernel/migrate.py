"""What a service's migrations call: each service keeps its migrations in `<package>/migrations/`, with the version
table inside its own schema; its env.py is two lines calling `run_env`, and its revisions use the helpers below.
Running them for every service is deploy/ops/migrate.py's job: the kernel does not know its services."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text


def run_env(service: str) -> None:
    """Body of every service's migrations/env.py (online mode only: migrations run against the database)."""
    cfg = context.config
    engine = create_engine(cfg.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {service}"))
        connection.commit()
        context.configure(connection=connection, version_table_schema=service, include_schemas=True)
        with context.begin_transaction():
            context.run_migrations()


def create_baseline(op: object, metadata: object, schema: str, tables: list[str] | None = None) -> None:
    """The first migration of a service: the kernel tables and the service's tables named in `tables` (all of
    the metadata when None), so that tables added later by their own migrations are not created here too."""
    from kernel.tables import APPEND_ONLY_TRIGGER

    bind = op.get_bind()  # type: ignore[attr-defined]
    bind.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {schema}.audit_log_id_seq"))
    names = None if tables is None else [*tables, "outbox", "processed_event", "audit_log"]
    chosen = None if names is None else [metadata.tables[f"{schema}.{n}"] for n in names]  # type: ignore[attr-defined]
    metadata.create_all(bind, tables=chosen)  # type: ignore[attr-defined]
    bind.exec_driver_sql(APPEND_ONLY_TRIGGER.format(schema=schema))


AUDIT_CHAINS = """
ALTER TABLE {schema}.audit_log ADD COLUMN IF NOT EXISTS chain varchar(128) NOT NULL DEFAULT 'main';
CREATE INDEX IF NOT EXISTS audit_log_chain ON {schema}.audit_log (chain, id);
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_chain_link ON {schema}.audit_log (chain, prev_hash);
CREATE OR REPLACE FUNCTION {schema}.audit_head(k text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- plpgsql, volatile: reads with a snapshot taken now, after the caller locked the chain (kernel.audit.link)
  RETURN (SELECT hash FROM {schema}.audit_log WHERE chain = k ORDER BY id DESC LIMIT 1);
END $$;
"""


def add_audit_chains(op: object, schema: str) -> None:
    """Per-stream audit chains (kernel.audit): the `chain` column (entries so far stay in `main`), its index, one
    link per predecessor, and `audit_head()`. Idempotent; one line in a service's migration."""
    op.get_bind().exec_driver_sql(AUDIT_CHAINS.format(schema=schema))  # type: ignore[attr-defined]


AUDIT_TIME_ORDER = "CREATE INDEX IF NOT EXISTS audit_log_time ON {schema}.audit_log (at, id)"


def add_audit_time_order(op: object, schema: str) -> None:
    """The index the audit list pages by (GET /api/v1/audit: time order, merged across services). Idempotent."""
    op.get_bind().exec_driver_sql(AUDIT_TIME_ORDER.format(schema=schema))  # type: ignore[attr-defined]
