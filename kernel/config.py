"""Configuration from the environment: one place, read once per process.

Every variable has a default that matches `deploy/env.sh`, so a developer's shell and the deploy
scripts agree without a config file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

SERVICES = ("identity", "attendance", "grading", "makeup", "reports", "gateway")


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    db_name: str
    pg_host: str
    pg_port: int
    db_password: str
    pg_admin_password: str
    amqp_uri: str
    preset: str
    simulation: bool
    jwt_secret: str
    rpc_timeout: float
    state_dir: str
    login_max_failures: int
    login_window_seconds: int
    address_max_failures: int
    access_token_seconds: int
    refresh_token_seconds: int
    # the type provisioned queues are declared as; a cluster's broker must make it its default too (provision checks)
    queue_type: str = "classic"
    port: int = 8080  # the gateway's; the other processes' metrics ports are offsets from it (kernel/metrics.py)
    metrics_bind: str = "127.0.0.1"
    token_use_flush_seconds: float = 1.0  # how often the gateway adds up integration-token uses (one statement)

    def role(self, service: str) -> str:
        """The database role a service connects as; it can touch only its own schema."""
        return f"{self.db_name}_{service}"

    @property
    def admin_role(self) -> str:
        return f"{self.db_name}_admin"

    def service_url(self, service: str) -> str:
        return (
            f"postgresql+psycopg2://{self.role(service)}:{self.db_password}"
            f"@{self.pg_host}:{self.pg_port}/{self.db_name}"
        )

    def admin_url(self, database: str | None = None) -> str:
        return (
            f"postgresql+psycopg2://{self.admin_role}:{self.pg_admin_password}"
            f"@{self.pg_host}:{self.pg_port}/{database or self.db_name}"
        )

    def service_dsn(self, service: str) -> str:
        """libpq form for plain psycopg2 (the relay)."""
        return (
            f"host={self.pg_host} port={self.pg_port} dbname={self.db_name} "
            f"user={self.role(service)} password={self.db_password}"
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ.get
    vhost = env("EJOURNAL_AMQP_VHOST", "ejournal")
    return Settings(
        db_name=env("EJOURNAL_DB_NAME", "ejournal"),
        pg_host=env("EJOURNAL_PG_HOST", "127.0.0.1"),
        pg_port=int(env("EJOURNAL_PG_PORT", "5432")),
        db_password=env("EJOURNAL_DB_PASSWORD", "ejournal-dev"),
        pg_admin_password=env("EJOURNAL_PG_ADMIN_PASSWORD", "ejournal-dev"),
        amqp_uri=env("EJOURNAL_AMQP_URI", f"amqp://guest:guest@127.0.0.1:5672/{vhost}"),
        preset=env("EJOURNAL_PRESET", "oshtu"),
        simulation=_flag("EJOURNAL_SIMULATION"),
        jwt_secret=env("EJOURNAL_JWT_SECRET", "dev-only-secret-change-me-dev-only-secret-change-me"),
        rpc_timeout=float(env("EJOURNAL_RPC_TIMEOUT", "5")),
        state_dir=env("EJOURNAL_STATE_DIR", os.path.join(os.getcwd(), ".run", "default")),
        login_max_failures=int(env("EJOURNAL_LOGIN_MAX_FAILURES", "10")),
        login_window_seconds=int(env("EJOURNAL_LOGIN_WINDOW_SECONDS", "900")),
        address_max_failures=int(env("EJOURNAL_ADDRESS_MAX_FAILURES", "100")),
        access_token_seconds=int(env("EJOURNAL_ACCESS_TOKEN_SECONDS", "900")),
        refresh_token_seconds=int(env("EJOURNAL_REFRESH_TOKEN_SECONDS", str(14 * 24 * 3600))),
        queue_type=env("EJOURNAL_QUEUE_TYPE", "classic"),
        port=int(env("EJOURNAL_PORT", "8080")),
        metrics_bind=env("EJOURNAL_METRICS_BIND", "127.0.0.1"),
        token_use_flush_seconds=float(env("EJOURNAL_TOKEN_USE_FLUSH_SECONDS", "1")),
    )
