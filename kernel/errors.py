"""Domain errors with the stable codes of API.md. They cross RPC as JSON in their first argument,
so the gateway maps them by code, never by another service's module path."""

from __future__ import annotations

import json
from typing import Any


class DomainError(Exception):
    code = "conflict"
    status = 409
    title = "Conflict"

    def __init__(self, detail: str = "", errors: dict[str, Any] | None = None, **extra: Any):
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra
        super().__init__(json.dumps({"code": self.code, "detail": self.detail, "errors": errors, **extra},
                                    ensure_ascii=False, default=str))

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://ejournal.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class Unauthenticated(DomainError):
    code, status, title = "unauthenticated", 401, "Not authenticated"


class Forbidden(DomainError):
    code, status, title = "forbidden", 403, "Forbidden"


class NotFound(DomainError):
    code, status, title = "not_found", 404, "Not found"


class ValidationFailed(DomainError):
    code, status, title = "validation_error", 422, "Validation failed"


class Conflict(DomainError):
    code, status, title = "conflict", 409, "Conflict"


class WindowClosed(DomainError):
    code, status, title = "window_closed", 409, "The window for this action has passed"


class Locked(DomainError):
    code, status, title = "locked", 409, "Locked"


class DeadlinePassed(DomainError):
    code, status, title = "deadline_passed", 409, "Deadline passed"


class TokenExpired(DomainError):
    code, status, title = "token_expired", 410, "Token expired"


class PayloadTooLarge(DomainError):
    code, status, title = "payload_too_large", 413, "Payload too large"


class RateLimited(DomainError):
    code, status, title = "rate_limited", 429, "Too many requests"


class Unavailable(DomainError):
    code, status, title = "unavailable", 503, "Service unavailable"


class InternalError(DomainError):
    """A failure of ours, answered without its details (they are in the log under the request id)."""

    code, status, title = "internal_error", 500, "Internal error"


BY_CODE: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (Unauthenticated, Forbidden, NotFound, ValidationFailed, Conflict, WindowClosed, Locked,
                DeadlinePassed, TokenExpired, PayloadTooLarge, RateLimited, Unavailable)
}


def from_remote(exc_type: str, value: str) -> DomainError | None:
    """Rebuild a DomainError that crossed RPC (nameko RemoteError carries type name and value)."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("code") not in BY_CODE:
        return None
    cls = BY_CODE[data.pop("code")]
    detail = data.pop("detail", "")
    errors = data.pop("errors", None)
    return cls(detail, errors, **data)
