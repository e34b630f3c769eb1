"""Wire formats of the makeup service (API.md "Make-up and appeals"): the arguments its RPC commands take (ARGS),
the answers, and the events it emits (EVENTS), as they are today. They describe; they do not reshape: the checks of
the arguments (and their error texts) stay in domain.py, and the gateway validates the HTTP bodies before it calls.
Unknown fields are refused, so a test that loads an answer notices a field added without its schema. Instants are
ISO 8601 in the institution's zone; a result or grade value is a number on the preset's scale or a grade word.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

# RULES.md §6 (003 §5.1): the form of the make-up depends on the session kind.
TASK_KINDS: Mapping[str, tuple[str, ...]] = {
    "lecture": ("summary_oral", "test", "essay"),
    "practice": ("practical_task", "test"),
    "lab": ("redo_lab", "project"),
    "srs": ("essay", "project"),
}
MAKEUP_STATES = ("requested", "assigned", "completed", "expired")
DISPUTE_STATES = ("open", "resolved", "escalated")
APPEAL_STATES = ("filed", "decided")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Value(fields.Field):
    """A result or a grade: a number (not a boolean) or a word."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError("a number or a grade word")
        return value


def _maybe(field: type[fields.Field], **kwargs: Any) -> fields.Field:
    return field(required=True, allow_none=True, **kwargs)


Code = fields.String
Instant = fields.DateTime
STEPS = fields.List(fields.Dict(), required=True)  # {action, actor, at, ...}: what the student sees of the history
TASK = validate.OneOf(sorted({k for kinds in TASK_KINDS.values() for k in kinds}))


# -- the RPC commands' arguments ------------------------------------------------------------------------------------


class RequestMakeupArgs(Strict):
    session = fields.Raw(required=True)  # the session's id
    student = Code(required=True)
    actor = Code(required=True)
    role = fields.String(load_default="student")


class AssignMakeupArgs(Strict):
    makeup_id = fields.Raw(required=True)
    task_kind = fields.String(required=True, validate=TASK)
    topic = fields.String(required=True)
    due = fields.String(required=True)  # ISO date (its end) or date-time
    actor = Code(required=True)


class CompleteMakeupArgs(Strict):
    makeup_id = fields.Raw(required=True)
    result = Value(required=True)
    comment = fields.String(allow_none=True)
    actor = Code(required=True)


class ExtendMakeupArgs(Strict):
    makeup_id = fields.Raw(required=True)
    until = fields.String(required=True)
    reason = fields.String(required=True)
    actor = Code(required=True)
    role = fields.String(required=True)  # one of the preset's makeup.extension_by


class OpenDisputeArgs(Strict):
    assessment = fields.Raw(required=True)
    student = Code(required=True)
    reason = fields.String(required=True)
    actor = Code(required=True)
    published_at = fields.String(allow_none=True)


class ResolveDisputeArgs(Strict):
    dispute_id = fields.Raw(required=True)
    value = Value(allow_none=True)
    note = fields.String(required=True)
    actor = Code(required=True)


class EscalateDisputeArgs(Strict):
    dispute_id = fields.Raw(required=True)
    actor = Code(required=True)
    note = fields.String(allow_none=True)


class CreateCommissionArgs(Strict):
    order = fields.String(required=True)
    members = fields.List(Code(), required=True)
    date_from = fields.String(required=True)  # ISO date
    date_to = fields.String(required=True)
    actor = Code(required=True)


class FileAppealArgs(Strict):
    student = Code(required=True)
    reason = fields.String(required=True)
    actor = Code(required=True)
    statement = fields.Raw(allow_none=True)
    assessment = fields.Raw(allow_none=True)
    published_at = fields.String(allow_none=True)


class DecideAppealArgs(Strict):
    appeal_id = fields.Raw(required=True)
    upheld = fields.Boolean(required=True)
    protocol = fields.String(required=True)
    value = fields.Float(allow_none=True)
    actor = Code(required=True)


ARGS: dict[str, type[Schema]] = {
    "request_makeup": RequestMakeupArgs, "assign_makeup": AssignMakeupArgs, "complete_makeup": CompleteMakeupArgs,
    "extend_makeup": ExtendMakeupArgs, "open_dispute": OpenDisputeArgs, "resolve_dispute": ResolveDisputeArgs,
    "escalate_dispute": EscalateDisputeArgs, "create_commission": CreateCommissionArgs,
    "file_appeal": FileAppealArgs, "decide_appeal": DecideAppealArgs,
}


# -- the answers ----------------------------------------------------------------------------------------------------


class ExtensionStepSchema(Strict):
    role = fields.String(required=True)
    actor = Code(required=True)
    at = Instant(required=True)
    until = Instant(required=True)
    reason = _maybe(fields.String)


class ExtensionSchema(Strict):
    """A make-up's extension (003 §5.3.2): the last step's date and reason, and whose decision it waits for."""

    until = Instant(required=True)
    reason = _maybe(fields.String)
    complete = fields.Boolean(required=True)
    awaiting = _maybe(fields.String)
    steps = fields.List(fields.Nested(ExtensionStepSchema), required=True)


class MakeupSchema(Strict):
    """A make-up; also the payload of makeup.requested, makeup.assigned, makeup.extension_step, makeup.extended."""

    id = fields.Integer(required=True)
    session = fields.Integer(required=True)
    student = Code(required=True)
    discipline = Code(required=True)
    group = Code(required=True)
    teacher = _maybe(Code)
    kind = fields.String(required=True)
    absence_status = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(MAKEUP_STATES))
    task_kind = _maybe(fields.String)
    task_kinds = fields.List(fields.String(), required=True)
    topic = _maybe(fields.String)
    due = _maybe(Instant)
    result = _maybe(Value)
    comment = _maybe(fields.String)
    requested_at = Instant(required=True)
    requested_by = Code(required=True)
    assigned_at = _maybe(Instant)
    completed_at = _maybe(Instant)
    deadline = _maybe(Instant)
    base_deadline = _maybe(Instant)
    extension = _maybe(fields.Nested, nested=ExtensionSchema)
    steps = STEPS


class MakeupPageSchema(Strict):
    items = fields.List(fields.Nested(MakeupSchema), required=True)
    next_cursor = _maybe(fields.String)


class RegisterMakeupSchema(Strict):
    id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(MAKEUP_STATES))
    task_kind = _maybe(fields.String)
    topic = _maybe(fields.String)
    assigned_at = _maybe(Instant)
    due = _maybe(Instant)
    completed_at = _maybe(Instant)
    result = _maybe(Value)
    comment = _maybe(fields.String)
    deadline = _maybe(Instant)


class RegisterLineSchema(Strict):
    session = fields.Integer(required=True)
    student = Code(required=True)
    status = _maybe(fields.String)
    starts_at = _maybe(Instant)
    kind = _maybe(fields.String)
    teacher = _maybe(Code)
    makeup = _maybe(fields.Nested, nested=RegisterMakeupSchema)


class MismatchSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(
        ("made_up_without_completed_makeup", "completed_makeup_mark_not_made_up")))
    session = fields.Integer(required=True)
    student = Code(required=True)
    status = _maybe(fields.String)
    makeup = _maybe(fields.Integer)


class RegisterSchema(Strict):
    """The make-up register of a group's discipline (003 §5.6)."""

    group = Code(required=True)
    discipline = Code(required=True)
    items = fields.List(fields.Nested(RegisterLineSchema), required=True)
    consistent = fields.Boolean(required=True)
    mismatches = fields.List(fields.Nested(MismatchSchema), required=True)
    pending = fields.List(fields.Nested(MismatchSchema), required=True)
    checked_at = Instant(required=True)


class DisputeSchema(Strict):
    """A dispute; also the payload of dispute.opened, dispute.resolved, dispute.escalated."""

    id = fields.Integer(required=True)
    assessment = fields.Integer(required=True)
    student = Code(required=True)
    group = _maybe(Code)
    discipline = _maybe(Code)
    reason = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(DISPUTE_STATES))
    published_at = Instant(required=True)
    deadline = _maybe(Instant)
    opened_at = Instant(required=True)
    opened_by = Code(required=True)
    value = _maybe(Value)
    note = _maybe(fields.String)
    steps = STEPS


class DisputePageSchema(Strict):
    items = fields.List(fields.Nested(DisputeSchema), required=True)
    next_cursor = _maybe(fields.String)


class CommissionSchema(Strict):
    """An appeal commission; also the payload of commission.created (and its audit entry's `new`)."""

    id = fields.Integer(required=True)
    order = fields.String(required=True)
    members = fields.List(Code(), required=True)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    created_by = Code(required=True)
    created_at = Instant(required=True)
    active = fields.Boolean(required=True)


class CommissionPageSchema(Strict):
    items = fields.List(fields.Nested(CommissionSchema), required=True)
    next_cursor = _maybe(fields.String)


class AppealSchema(Strict):
    """An appeal; also the payload of appeal.filed."""

    id = fields.Integer(required=True)
    statement = _maybe(fields.Integer)
    assessment = _maybe(fields.Integer)
    student = Code(required=True)
    group = _maybe(Code)
    discipline = _maybe(Code)
    reason = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(APPEAL_STATES))
    published_at = Instant(required=True)
    deadline = _maybe(Instant)
    filed_at = Instant(required=True)
    filed_by = Code(required=True)
    commission = _maybe(fields.Integer)
    upheld = _maybe(fields.Boolean)
    protocol = _maybe(fields.String)
    value = _maybe(Value)
    decided_by = _maybe(Code)
    decided_at = _maybe(Instant)
    steps = STEPS


class AppealPageSchema(Strict):
    items = fields.List(fields.Nested(AppealSchema), required=True)
    next_cursor = _maybe(fields.String)


# -- the events that are not an answer ------------------------------------------------------------------------------


class MakeupCompletedSchema(Strict):
    """makeup.completed: attendance turns the mark into made_up, grading counts the result (003 §5.4.2, §5.5)."""

    id = fields.Integer(required=True)
    session = fields.Integer(required=True)
    student = Code(required=True)
    discipline = Code(required=True)
    group = Code(required=True)
    kind = fields.String(required=True)
    teacher = _maybe(Code)
    task_kind = _maybe(fields.String)
    topic = _maybe(fields.String)
    result = Value(required=True)
    comment = _maybe(fields.String)
    completed_at = Instant(required=True)
    actor = Code(required=True)


class AppealDecisionSchema(Strict):
    """appeal.decided (upheld with a value: grading applies it with role commission) and appeal.closed."""

    id = fields.Integer(required=True)
    student = Code(required=True)
    statement = _maybe(fields.Integer)
    assessment = _maybe(fields.Integer)
    upheld = fields.Boolean(required=True)
    protocol = fields.String(required=True)
    value = _maybe(Value)
    actor = Code(required=True)
    commission = fields.Integer(required=True)
    order = fields.String(required=True)
    members = fields.List(Code(), required=True)
    approval = fields.String(required=True)


EVENTS: dict[str, type[Schema]] = {
    "makeup.requested": MakeupSchema, "makeup.assigned": MakeupSchema, "makeup.completed": MakeupCompletedSchema,
    "makeup.extension_step": MakeupSchema, "makeup.extended": MakeupSchema,
    "dispute.opened": DisputeSchema, "dispute.resolved": DisputeSchema, "dispute.escalated": DisputeSchema,
    "commission.created": CommissionSchema,
    "appeal.filed": AppealSchema, "appeal.decided": AppealDecisionSchema, "appeal.closed": AppealDecisionSchema,
}
