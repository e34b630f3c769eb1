"""Validation errors every service answers the same way: a batch is checked whole and each bad field is named
by its path (`students[3].group`), in a 422 `validation_error`."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from kernel.errors import ValidationFailed


class Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_field.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def detail(self) -> str:
        first = next(iter(self.by_field.items()))
        more = len(self.by_field) - 1
        return f"{first[0]}: {first[1][0]}" + (f" (and {more} more)" if more else "")


def reject(errors: Errors) -> None:
    if errors:
        raise ValidationFailed(errors.detail(), errors.by_field)


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", {field: [message]})


def flatten_marshmallow(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"students": {3: {"group": ["..."]}}} -> {"students[3].group": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_marshmallow(value, path))
    elif isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        flat[prefix or "_schema"] = list(errors)
    else:
        flat[prefix or "_schema"] = [str(errors)]
    return flat


def load(schema: Schema, body: Any, prefix: str = "") -> Any:
    """`schema.load(body)`, answering a 422 that names every bad field."""
    try:
        return schema.load(body)
    except ValidationError as exc:
        errors = Errors()
        errors.by_field = flatten_marshmallow(exc.messages, prefix)
        raise ValidationFailed(errors.detail(), errors.by_field) from None
