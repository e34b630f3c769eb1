"""Structured logs: one JSON object per line, from every process of the stack.

The one configuration is `dict_config()`: nameko services get it through `deploy/nameko.yaml`'s `LOGGING` (a unit
test keeps the two equal), relays and commands through `configure()`. A line written while a nameko worker runs
carries that worker's service, entrypoint and request id: the gateway takes the id from `X-Request-Id` (or makes
one), nameko carries it across RPC as context data (`nameko.request_id`), `UnitOfWork.emit` stores it in the
event's envelope and the relay sends it on as the same header, so a consumer's lines carry it too.

    {"ts": "2026-10-05T09:00:00.123+00:00", "level": "INFO", "logger": "kernel.worker", "msg": "rpc create_token ok",
     "service": "identity", "entrypoint": "create_token", "request_id": "3f2c...", "duration_ms": 12.5, ...}
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The worker a greenthread runs (greenlets each have their own context, so workers do not see each other's).
_worker: ContextVar[Any] = ContextVar("ejournal_worker", default=None)
_process: dict[str, str | None] = {"name": os.environ.get("EJOURNAL_PROCESS_NAME")}  # set by deploy/procs.py

# LogRecord's own attributes: anything else on a record came from `extra=` and goes into the line as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def bind_worker(worker_ctx: Any) -> None:
    """Called when a worker starts (kernel.metrics.Metrics.worker_setup): its lines carry its context from now."""
    _worker.set(worker_ctx)


def unbind_worker() -> None:
    _worker.set(None)


def set_process(name: str) -> None:
    """Name the process in every line (a service's name, `relay-identity`, ...), unless the supervisor did."""
    _process["name"] = os.environ.get("EJOURNAL_PROCESS_NAME") or name


def worker_fields(worker_ctx: Any) -> dict[str, Any]:
    entrypoint = getattr(worker_ctx, "entrypoint", None)
    context = getattr(worker_ctx, "context_data", None) or {}
    return {"service": getattr(worker_ctx, "service_name", None),
            "entrypoint": getattr(entrypoint, "method_name", None),
            "request_id": context.get("request_id")}


def current_request_id() -> str | None:
    worker_ctx = _worker.get()
    return worker_fields(worker_ctx)["request_id"] if worker_ctx is not None else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "process": _process["name"],
            "pid": record.process,
        }
        worker_ctx = _worker.get()
        if worker_ctx is not None:
            line.update({k: v for k, v in worker_fields(worker_ctx).items() if v is not None})
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False, default=str)


def dict_config(level: str = "INFO") -> dict[str, Any]:
    """The logging configuration of every process (deploy/nameko.yaml holds the same, with the level from
    EJOURNAL_LOG_LEVEL)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "kernel.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"level": level, "handlers": ["console"]},
    }


def configure(process: str | None = None) -> None:
    """Set up logging for a process that is not started by `nameko run` (relays, commands)."""
    logging.config.dictConfig(dict_config(os.environ.get("EJOURNAL_LOG_LEVEL", "INFO")))
    logging.captureWarnings(True)
    set_process(process or os.path.basename(sys.argv[0]))
