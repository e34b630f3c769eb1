"""Wire formats of the attendance service (API.md "Attendance", "Loading the year"): the RPC bodies it loads
(unknown fields ignored, never written; which status or excuse kind is valid is the preset's business, domain.py),
then the answers and the events it emits (EVENTS), as they are on the wire, and the check-in command the gateway
sends it (CheckinRequest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from contracts.base import CODE, SESSION_KINDS, Exact, Lenient, nullable, page_of

MAX_SESSIONS = 20_000  # a term of a large faculty; more in one request is a mistake



class TermSchema(Lenient):
    code = fields.String(required=True, validate=CODE)
    starts = fields.Date(required=True)
    ends = fields.Date(required=True)


class TimetableSessionSchema(Lenient):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=200))
    discipline = fields.String(required=True, validate=CODE)
    group = fields.String(required=True, validate=CODE)
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    teacher = fields.String(required=True, validate=CODE)
    starts_at = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    room = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class TimetableSchema(Lenient):
    term = fields.Nested(TermSchema, required=True)
    sessions = fields.List(fields.Nested(TimetableSessionSchema), required=True,
                           validate=validate.Length(max=MAX_SESSIONS))


class MarkSchema(Lenient):
    student = fields.String(required=True, validate=CODE)
    status = fields.String(required=True, validate=validate.Length(1, 32))


class TopicSchema(Lenient):
    topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    work_kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class PlanSchema(Lenient):
    planned_topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ExcuseSchema(Lenient):
    student = fields.String(required=True, validate=CODE)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.Length(1, 32))
    document = fields.String(required=True, validate=validate.Length(1, 500))


# -- what this service answers and emits, as it is on the wire today ---------------------------------------------
# They describe; they do not reshape (domain.py builds the dicts). Unknown fields are refused, so a test that
# loads an answer or an event notices a field added without its schema. Instants are ISO 8601 with the
# institution's offset; "may be null" is allow_none.



Instant = fields.AwareDateTime



class ChangeSchema(Exact):
    student = fields.String(required=True)
    old = nullable(fields.String)
    new = fields.String(required=True)


class SessionFields(Exact):
    """What the timetable says of a session, in every message about one."""

    term = fields.String(required=True)
    discipline = fields.String(required=True)
    group = fields.String(required=True)
    subgroup = nullable(fields.String)
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    teacher = fields.String(required=True)
    starts_at = Instant(required=True)


class SessionFactsSchema(SessionFields):
    """A session's facts every payload about it repeats (its readers keep them)."""

    session = fields.Integer(required=True)


class MarksRecordedSchema(SessionFactsSchema):
    """`marks.recorded`: a teacher's (or substitute's) marks, a batch of check-ins, an approved excuse, a completed
    make-up or an executed correction."""

    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    late = fields.Boolean(required=True)
    first_entry_at = nullable(Instant)
    source = fields.String(required=True, validate=validate.OneOf(("teacher", "checkin", "excuse", "makeup",
                                                                    "correction")))
    actor = fields.String(required=True)
    on_behalf_of = nullable(fields.String)
    reason = nullable(fields.String)
    approval = nullable(fields.String)


class TopicRecordedSchema(SessionFactsSchema):
    """`topic.recorded`: the planned topic, or the topic given and the kind of work."""

    planned_topic = nullable(fields.String)
    topic = nullable(fields.String)
    work_kind = nullable(fields.String)
    actor = fields.String(required=True)
    on_behalf_of = nullable(fields.String)


class SessionScheduledSchema(SessionFields):
    """`session.scheduled`: a session a timetable created or changed."""

    id = fields.Integer(required=True)
    ref = fields.String(required=True)
    minutes = fields.Integer(required=True)
    room = nullable(fields.String)


class ExcuseViewSchema(Exact):
    """An excuse (file_excuse, get_excuse, list_excuses' items) and `excuse.filed`."""

    id = fields.Integer(required=True)
    student = fields.String(required=True)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    kind = fields.String(required=True)
    document = fields.String(required=True)
    filed_by = fields.String(required=True)
    filed_at = Instant(required=True)
    late_filing = fields.Boolean(required=True)
    document_due = nullable(fields.Date)
    state = fields.String(required=True, validate=validate.OneOf(("pending", "approved", "rejected")))
    decided_by = nullable(fields.String)
    decided_at = nullable(Instant)
    note = nullable(fields.String)


class ExcusedChangeSchema(ChangeSchema):
    session = fields.Integer(required=True)


class ExcuseDecidedSchema(ExcuseViewSchema):
    """decide_excuse's answer and `excuse.decided`: the excuse and the marks its approval changed."""

    changes = fields.List(fields.Nested(ExcusedChangeSchema), required=True)


ExcuseListSchema = page_of(ExcuseViewSchema, "ExcuseListSchema", Exact)


class MarkViewSchema(Exact):
    student = fields.String(required=True)
    status = fields.String(required=True)
    mark = fields.String(required=True)
    source = fields.String(required=True)
    set_at = Instant(required=True)


class SessionSummarySchema(SessionScheduledSchema):
    """list_sessions' items: the session as scheduled, its topics and entry times."""

    planned_topic = nullable(fields.String)
    topic = nullable(fields.String)
    work_kind = nullable(fields.String)
    late = fields.Boolean(required=True)
    first_entry_at = nullable(Instant)
    last_entry_at = nullable(Instant)


class SessionViewSchema(SessionSummarySchema):
    """get_session, set_plan, set_topic, record_marks: the session with its marks and roster."""

    marks = fields.List(fields.Nested(MarkViewSchema), required=True)
    roster = fields.List(fields.String(), required=True)


SessionListSchema = page_of(SessionSummarySchema, "SessionListSchema", Exact)


class ImportedSchema(Exact):
    """import_timetable's answer: every ref's session id and how many were created, updated, unchanged."""

    term = fields.String(required=True)
    sessions = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)


class LiveStudentSchema(Exact):
    student = fields.String(required=True)
    status = nullable(fields.String)
    mark = nullable(fields.String)
    checked_in_at = nullable(Instant)
    device = nullable(fields.String)
    address = nullable(fields.String)
    shared_device = fields.Boolean(required=True)


class SharedDeviceSchema(Exact):
    device = fields.String(required=True)
    students = fields.List(fields.String(), required=True)


class RefusedCheckinSchema(Exact):
    student = fields.String(required=True)
    at = Instant(required=True)
    code = nullable(fields.String)
    reason = nullable(fields.String)


class LiveRosterSchema(Exact):
    """live_roster's answer."""

    session = fields.Integer(required=True)
    students = fields.List(fields.Nested(LiveStudentSchema), required=True)
    shared_devices = fields.List(fields.Nested(SharedDeviceSchema), required=True)
    refused_checkins = fields.List(fields.Nested(RefusedCheckinSchema), required=True)


class FacultyGroupSchema(Exact):
    """student_faculty_group's answer (all null when the student is not enrolled today)."""

    group = nullable(fields.String)
    subgroup = nullable(fields.String)
    department = nullable(fields.String)


EVENTS: dict[str, type[Schema]] = {
    "session.scheduled": SessionScheduledSchema,
    "marks.recorded": MarksRecordedSchema,
    "topic.recorded": TopicRecordedSchema,
    "excuse.filed": ExcuseViewSchema,
    "excuse.decided": ExcuseDecidedSchema,
}


# -- the check-in command (gateway -> attendance, kernel.commands.CHECKIN) ------------------------------------

CHECKIN_LIMITS = {"student": 64, "address": 64, "device": 200}  # the check-in table's columns


@dataclass(frozen=True)
class CheckinRequest:
    """A scanned code the gateway accepted, on its way to the attendance service (kernel.commands.CHECKIN). `at` is
    when it was scanned: the window is judged at that instant, however long the queue held it."""

    id: str
    session: int
    student: str
    at: datetime
    address: str | None
    device: str | None

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "session": self.session, "student": self.student, "at": self.at.isoformat(),
                "address": self.address, "device": self.device}

    @classmethod
    def from_wire(cls, body: Any) -> CheckinRequest:
        """Raise ValueError, naming the field, for anything but what `to_wire` makes."""
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        if not isinstance(body.get("id"), str) or not 1 <= len(body["id"]) <= 64:
            raise ValueError("id: a string of 1..64 characters")
        if not isinstance(body.get("session"), int) or isinstance(body["session"], bool) or body["session"] < 1:
            raise ValueError("session: a positive integer")
        try:
            at = datetime.fromisoformat(str(body["at"]))
        except (KeyError, ValueError):
            raise ValueError("at: an ISO date-time") from None
        if at.tzinfo is None:
            raise ValueError("at: needs a UTC offset")
        texts: dict[str, Any] = {}
        for field, longest in CHECKIN_LIMITS.items():
            value = body.get(field) or None  # "" = unknown
            if (value is None and field == "student") or (
                    value is not None and (not isinstance(value, str) or len(value) > longest)):
                raise ValueError(f"{field}: a string of 1..{longest} characters")
            texts[field] = value
        return cls(body["id"], body["session"], texts["student"], at, texts["address"], texts["device"])
