"""Alembic, once for every service: find a service's migrations (`<package>/migrations/`) and upgrade it to head,
with the version table inside its own schema (kernel.migrate.run_env). Used by deploy/ops/provision.py."""

from __future__ import annotations

import importlib
import os

from alembic import command
from alembic.config import Config

from kernel.config import settings


def migrations_dir(service: str) -> str:
    package = importlib.import_module(service)
    return os.path.join(os.path.dirname(package.__file__ or ""), "migrations")


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", migrations_dir(service))
    cfg.set_main_option("sqlalchemy.url", (url or settings().admin_url()).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")
