"""Wire formats of the makeup service (API.md "Make-up and appeals"): the arguments its RPC commands take (ARGS),
the answers, and the events it emits (EVENTS), as they are today. They describe; they do not reshape: the checks of
the arguments (and their error texts) stay in domain.py, and the gateway validates the HTTP bodies before it calls.
Unknown fields are refused, so a test that loads an answer notices a field added without its schema. Instants are
ISO 8601 in the institution's zone; a result or grade value is a number on the preset's scale or a grade word.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from contracts.base import Exact, nullable, page_of

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



class Value(fields.Field):
    """A result or a grade: a number (not a boolean) or a word."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError("a number or a grade word")
        return value



Code = fields.String
Instant = fields.DateTime
STEPS = fields.List(fields.Dict(), required=True)  # {action, actor, at, ...}: what the student sees of the history
TASK = validate.OneOf(sorted({k for kinds in TASK_KINDS.values() for k in kinds}))


# -- the RPC commands' arguments ------------------------------------------------------------------------------------


class RequestMakeupArgs(Exact):
    session = fields.Raw(required=True)  # the session's id
    student = Code(required=True)
    actor = Code(required=True)
    role = fields.String(load_default="student")


class AssignMakeupArgs(Exact):
    makeup_id = fields.Raw(required=True)
    task_kind = fields.String(required=True, validate=TASK)
    topic = fields.String(required=True)
    due = fields.String(required=True)  # ISO date (its end) or date-time
    actor = Code(required=True)


class CompleteMakeupArgs(Exact):
    makeup_id = fields.Raw(required=True)
    result = Value(required=True)
    comment = fields.String(allow_none=True)
    actor = Code(required=True)


class ExtendMakeupArgs(Exact):
    makeup_id = fields.Raw(required=True)
    until = fields.String(required=True)
    reason = fields.String(required=True)
    actor = Code(required=True)
    role = fields.String(required=True)  # one of the preset's makeup.extension_by


class OpenDisputeArgs(Exact):
    assessment = fields.Raw(required=True)
    student = Code(required=True)
    reason = fields.String(required=True)
    actor = Code(required=True)
    published_at = fields.String(allow_none=True)


class ResolveDisputeArgs(Exact):
    dispute_id = fields.Raw(required=True)
    value = Value(allow_none=True)
    note = fields.String(required=True)
    actor = Code(required=True)


class EscalateDisputeArgs(Exact):
    dispute_id = fields.Raw(required=True)
    actor = Code(required=True)
    note = fields.String(allow_none=True)


class CreateCommissionArgs(Exact):
    order = fields.String(required=True)
    members = fields.List(Code(), required=True)
    date_from = fields.String(required=True)  # ISO date
    date_to = fields.String(required=True)
    actor = Code(required=True)


class FileAppealArgs(Exact):
    student = Code(required=True)
    reason = fields.String(required=True)
    actor = Code(required=True)
    statement = fields.Raw(allow_none=True)
    assessment = fields.Raw(allow_none=True)
    published_at = fields.String(allow_none=True)


class DecideAppealArgs(Exact):
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


class ExtensionStepSchema(Exact):
    role = fields.String(required=True)
    actor = Code(required=True)
    at = Instant(required=True)
    until = Instant(required=True)
    reason = nullable(fields.String)


class ExtensionSchema(Exact):
    """A make-up's extension (003 §5.3.2): the last step's date and reason, and whose decision it waits for."""

    until = Instant(required=True)
    reason = nullable(fields.String)
    complete = fields.Boolean(required=True)
    awaiting = nullable(fields.String)
    steps = fields.List(fields.Nested(ExtensionStepSchema), required=True)


class MakeupSchema(Exact):
    """A make-up; also the payload of makeup.requested, makeup.assigned, makeup.extension_step, makeup.extended."""

    id = fields.Integer(required=True)
    session = fields.Integer(required=True)
    student = Code(required=True)
    discipline = Code(required=True)
    group = Code(required=True)
    teacher = nullable(Code)
    kind = fields.String(required=True)
    absence_status = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(MAKEUP_STATES))
    task_kind = nullable(fields.String)
    task_kinds = fields.List(fields.String(), required=True)
    topic = nullable(fields.String)
    due = nullable(Instant)
    result = nullable(Value)
    comment = nullable(fields.String)
    requested_at = Instant(required=True)
    requested_by = Code(required=True)
    assigned_at = nullable(Instant)
    completed_at = nullable(Instant)
    deadline = nullable(Instant)
    base_deadline = nullable(Instant)
    extension = nullable(fields.Nested, nested=ExtensionSchema)
    steps = STEPS


MakeupPageSchema = page_of(MakeupSchema, "MakeupPageSchema", Exact)


class RegisterMakeupSchema(Exact):
    id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(MAKEUP_STATES))
    task_kind = nullable(fields.String)
    topic = nullable(fields.String)
    assigned_at = nullable(Instant)
    due = nullable(Instant)
    completed_at = nullable(Instant)
    result = nullable(Value)
    comment = nullable(fields.String)
    deadline = nullable(Instant)


class RegisterLineSchema(Exact):
    session = fields.Integer(required=True)
    student = Code(required=True)
    status = nullable(fields.String)
    starts_at = nullable(Instant)
    kind = nullable(fields.String)
    teacher = nullable(Code)
    makeup = nullable(fields.Nested, nested=RegisterMakeupSchema)


class MismatchSchema(Exact):
    kind = fields.String(required=True, validate=validate.OneOf(
        ("made_up_without_completed_makeup", "completed_makeup_mark_not_made_up")))
    session = fields.Integer(required=True)
    student = Code(required=True)
    status = nullable(fields.String)
    makeup = nullable(fields.Integer)


class RegisterSchema(Exact):
    """The make-up register of a group's discipline (003 §5.6)."""

    group = Code(required=True)
    discipline = Code(required=True)
    items = fields.List(fields.Nested(RegisterLineSchema), required=True)
    consistent = fields.Boolean(required=True)
    mismatches = fields.List(fields.Nested(MismatchSchema), required=True)
    pending = fields.List(fields.Nested(MismatchSchema), required=True)
    checked_at = Instant(required=True)


class CaseFields(Exact):
    """What a dispute and an appeal both say: whose grade, where, why, and the deadline the publication set."""

    id = fields.Integer(required=True)
    student = Code(required=True)
    group = nullable(Code)
    discipline = nullable(Code)
    reason = fields.String(required=True)
    published_at = Instant(required=True)
    deadline = nullable(Instant)


class DisputeSchema(CaseFields):
    """A dispute; also the payload of dispute.opened, dispute.resolved, dispute.escalated."""

    assessment = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(DISPUTE_STATES))
    opened_at = Instant(required=True)
    opened_by = Code(required=True)
    value = nullable(Value)
    note = nullable(fields.String)
    steps = STEPS


DisputePageSchema = page_of(DisputeSchema, "DisputePageSchema", Exact)


class CommissionSchema(Exact):
    """An appeal commission; also the payload of commission.created (and its audit entry's `new`)."""

    id = fields.Integer(required=True)
    order = fields.String(required=True)
    members = fields.List(Code(), required=True)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    created_by = Code(required=True)
    created_at = Instant(required=True)
    active = fields.Boolean(required=True)


CommissionPageSchema = page_of(CommissionSchema, "CommissionPageSchema", Exact)


class AppealSchema(CaseFields):
    """An appeal; also the payload of appeal.filed."""

    statement = nullable(fields.Integer)
    assessment = nullable(fields.Integer)
    state = fields.String(required=True, validate=validate.OneOf(APPEAL_STATES))
    filed_at = Instant(required=True)
    filed_by = Code(required=True)
    commission = nullable(fields.Integer)
    upheld = nullable(fields.Boolean)
    protocol = nullable(fields.String)
    value = nullable(Value)
    decided_by = nullable(Code)
    decided_at = nullable(Instant)
    steps = STEPS


AppealPageSchema = page_of(AppealSchema, "AppealPageSchema", Exact)


# -- the events that are not an answer ------------------------------------------------------------------------------


class MakeupCompletedSchema(Exact):
    """makeup.completed: attendance turns the mark into made_up, grading counts the result (003 §5.4.2, §5.5)."""

    id = fields.Integer(required=True)
    session = fields.Integer(required=True)
    student = Code(required=True)
    discipline = Code(required=True)
    group = Code(required=True)
    kind = fields.String(required=True)
    teacher = nullable(Code)
    task_kind = nullable(fields.String)
    topic = nullable(fields.String)
    result = Value(required=True)
    comment = nullable(fields.String)
    completed_at = Instant(required=True)
    actor = Code(required=True)


class AppealDecisionSchema(Exact):
    """appeal.decided (upheld with a value: grading applies it with role commission) and appeal.closed."""

    id = fields.Integer(required=True)
    student = Code(required=True)
    statement = nullable(fields.Integer)
    assessment = nullable(fields.Integer)
    upheld = fields.Boolean(required=True)
    protocol = fields.String(required=True)
    value = nullable(Value)
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
