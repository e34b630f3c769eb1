"""Attendance's use-cases (attendance.handlers) against a fake unit of work: what each writes, emits and audits,
and what it refuses, with the loading (attendance.queries) replaced by an in-memory store (issue 16). Every
event emitted and every answer is also loaded with its schema (attendance.schemas), as it goes on the wire."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fakes import FakeTx, FakeUnitOfWork

from attendance import domain, handlers, queries
from attendance.domain import Period
from attendance.models import Checkin, Excuse, Mark, Session, Term
from contracts import attendance as schemas
from kernel.errors import Conflict, Forbidden, Locked, NotFound, ValidationFailed, WindowClosed
from kernel.policy import load_preset

OSHTU = load_preset("oshtu")
JAGU = load_preset("jagu")


def at(day: str, clock: str = "08:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+06:00")


STARTS = at("2026-10-05", "08:00")  # a Monday


class Tx(FakeTx):
    """FakeTx that also takes the timetable's two bulk statements (insert ... returning, update by id)."""

    def __init__(self) -> None:
        super().__init__()
        self.inserted: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []

    def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        kind = type(statement).__name__
        if kind == "ReturningInsert" or kind == "Insert":
            self.inserted += params
            rows = [SimpleNamespace(id=100 + i, ref=p["ref"]) for i, p in enumerate(params)]
            return SimpleNamespace(all=lambda: rows)
        if kind == "Update":
            self.updated += params
            return None
        return super().execute(statement, params)


class Store:
    """What queries.* would load, kept in memory; `install` points attendance.queries at it."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.sessions: dict[int, Session] = {}
        self.marks: list[Mark] = []
        self.enrolments: list[tuple[str, Period]] = []
        self.closed: list[domain.ClosedYear] = []
        self.checkins: list[Checkin] = []
        self.refused: list[Any] = []
        self.excuses: dict[int, Excuse] = {}
        self.locked: list[tuple[str, int]] = []

    def all_marks(self) -> list[Mark]:
        return self.marks + [r for r in self.uow.tx.added if isinstance(r, Mark)]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def session(tx: Any, session_id: int, lock: bool = False) -> Session | None:
            if lock:
                self.locked.append(("session", session_id))
            return self.sessions.get(session_id)

        def marks(tx: Any, session_id: int, student: str | None = None) -> list[Mark]:
            return sorted((m for m in self.all_marks() if m.session == session_id
                           and (student is None or m.student == student)), key=lambda m: m.student)

        def excuse(tx: Any, excuse_id: int, lock: bool = False) -> Excuse | None:
            if lock:
                self.locked.append(("excuse", excuse_id))
            return self.excuses.get(excuse_id)

        def excuse_marks(tx: Any, student: str, lo: datetime, hi: datetime) -> list[tuple[Mark, Session]]:
            return [(m, self.sessions[m.session]) for m in self.all_marks()
                    if m.student == student and lo <= self.sessions[m.session].starts_at < hi]

        for name, fn in {
            "session": session, "marks": marks, "excuse": excuse, "excuse_marks": excuse_marks,
            "group_enrolments": lambda tx, group: [(s, p) for s, p in self.enrolments if p.group == group],
            "student_periods": lambda tx, student: [p for s, p in self.enrolments if s == student],
            "student_known": lambda tx, student: any(s == student for s, _ in self.enrolments),
            "closed_years": lambda tx: list(self.closed),
            "checkins": lambda tx, session_id: [c for c in self.checkins if c.session == session_id],
            "refused_checkins": lambda tx, session_id: list(self.refused),
            "group_unit": lambda tx, code: SimpleNamespace(code=code, department="CS-DEPT"),
        }.items():
            monkeypatch.setattr(queries, name, fn)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(clock=at("2026-10-05", "09:00"), service="attendance", tx=Tx())


@pytest.fixture
def store(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> Store:
    s = Store(uow)
    s.install(monkeypatch)
    s.sessions[7] = Session(id=7, ref="R7", term="2026F", discipline="MATH", group="G1", subgroup=None,
                            kind="practice", teacher="T1", starts_at=STARTS, minutes=80, room="101",
                            planned_topic=None, topic=None, work_kind=None, late=False, first_entry_at=None,
                            last_entry_at=None)
    s.enrolments = [("S1", Period("G1", "1", date(2026, 9, 1), None)),
                    ("S2", Period("G1", "2", date(2026, 9, 1), None)),
                    ("S3", Period("G1", "1", date(2026, 9, 1), date(2026, 10, 1)))]  # expelled before
    return s


def on_the_wire(uow: FakeUnitOfWork) -> None:
    """Every emitted payload is what its schema describes (schemas.EVENTS)."""
    for e in uow.emitted:
        schemas.EVENTS[e.type]().load(e.payload)


def mark(session: int, student: str, status: str, source: str, entered: datetime | None = None) -> Mark:
    return Mark(session=session, student=student, status=status, source=source, set_by="T1",
                set_at=entered or STARTS, first_entry_at=entered)


# -- marks ----------------------------------------------------------------------------------------------------


def test_a_teachers_first_entry_stores_the_marks_emits_one_event_and_audits_each_mark_003_4_2_1(uow, store):
    answer = handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "absent"},
                                                   {"student": "S2", "status": "present"}], actor="T1")
    row = store.sessions[7]
    assert ("session", 7) in store.locked, "one writer per session"
    assert row.first_entry_at == uow.clock and row.last_entry_at == uow.clock and row.late is False
    added = {m.student: (m.status, m.source, m.first_entry_at) for m in uow.tx.added}
    assert added == {"S1": ("absent", "teacher", uow.clock), "S2": ("present", "teacher", uow.clock)}
    assert uow.types() == ["marks.recorded"]
    payload = uow.emitted[0].payload
    assert payload["changes"] == [{"student": "S1", "old": None, "new": "absent"},
                                  {"student": "S2", "old": None, "new": "present"}]
    assert (payload["source"], payload["actor"], payload["late"]) == ("teacher", "T1", False)
    assert payload["first_entry_at"] == "2026-10-05T09:00:00+06:00"
    assert payload["starts_at"] == "2026-10-05T08:00:00+06:00"
    assert [(a["entity_id"], a["action"], a["old"], a["new"], a["chain"]) for a in uow.audited] == [
        ("7:S1", "recorded", None, "absent", "session:7"), ("7:S2", "recorded", None, "present", "session:7")]
    assert answer["roster"] == ["S1", "S2"], "S3 left the group before the session's date"
    assert [(m["student"], m["mark"]) for m in answer["marks"]] == [("S1", "НБ"), ("S2", "")]
    schemas.SessionViewSchema().load(answer)
    on_the_wire(uow)


def test_a_first_entry_after_24_hours_is_flagged_late_003_4_2_1(uow, store):
    uow.clock = STARTS + timedelta(hours=24, minutes=1)
    handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "present"}], actor="T1")
    assert store.sessions[7].late is True
    assert uow.emitted[0].payload["late"] is True


def test_a_first_entry_confirming_the_check_ins_changes_nothing_but_is_announced(uow, store):
    """A teacher who confirms the self check-ins (present stays present) makes the first entry: no mark changes,
    no audit of marks, one marks.recorded without changes so the readers learn the entry time."""
    store.marks = [mark(7, "S1", "present", "checkin")]
    handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "present"}], actor="T1")
    assert store.sessions[7].first_entry_at == uow.clock
    assert store.sessions[7].last_entry_at is None
    assert uow.types() == ["marks.recorded"]
    assert uow.emitted[0].payload["changes"] == [] and uow.emitted[0].payload["source"] == "teacher"
    assert uow.audited == []
    on_the_wire(uow)


def test_unchanged_marks_after_the_first_entry_emit_and_audit_nothing(uow, store):
    store.sessions[7].first_entry_at = STARTS
    store.marks = [mark(7, "S1", "absent", "teacher", STARTS)]
    handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "absent"}], actor="T1")
    assert uow.emitted == [] and uow.audited == [] and uow.tx.added == []


def test_a_teachers_own_mark_past_three_days_is_refused_and_nothing_is_recorded_003_4_4_1(uow, store):
    entered = STARTS + timedelta(minutes=5)
    store.sessions[7].first_entry_at = entered
    store.marks = [mark(7, "S1", "absent", "teacher", entered)]
    uow.clock = entered + timedelta(days=4)
    with pytest.raises(WindowClosed):
        handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "present"}], actor="T1")
    assert store.marks[0].status == "absent"
    assert uow.emitted == [] and uow.audited == []


def test_a_teacher_changing_a_check_in_restarts_the_marks_entry_but_not_inside_the_window(uow, store):
    """A check-in overridden by the teacher becomes the teacher's value, timed from now; the teacher's own mark
    changed inside its window keeps its first entry (003 §4.4.1 counts from the value's own entry)."""
    entered = STARTS + timedelta(minutes=5)
    store.sessions[7].first_entry_at = entered
    store.marks = [mark(7, "S1", "present", "checkin"), mark(7, "S2", "absent", "teacher", entered)]
    handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "absent"},
                                          {"student": "S2", "status": "present"}], actor="T1")
    s1, s2 = store.marks
    assert (s1.status, s1.source, s1.first_entry_at, s1.set_at) == ("absent", "teacher", uow.clock, uow.clock)
    assert (s2.status, s2.source, s2.first_entry_at) == ("present", "teacher", entered)
    assert store.sessions[7].first_entry_at == entered, "the session's first entry stays"
    assert [c["old"] for c in uow.emitted[0].payload["changes"]] == ["present", "absent"]


def test_a_teacher_may_not_set_excused_and_a_student_off_the_roster_is_named(uow, store):
    with pytest.raises(Forbidden):
        handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "excused"}], actor="T1")
    with pytest.raises(ValidationFailed) as err:
        handlers.record_marks(uow, OSHTU, 7, [{"student": "S3", "status": "absent"}], actor="T1")
    assert "marks[0].student" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        handlers.record_marks(uow, OSHTU, 7, {"student": "S1"}, actor="T1")
    assert "marks" in err.value.errors
    assert uow.emitted == [] and uow.audited == []


def test_marks_of_an_archived_year_are_refused_rules_9(uow, store):
    store.closed = [domain.ClosedYear("2026-2027", date(2026, 9, 1), date(2027, 6, 30))]
    with pytest.raises(Locked):
        handlers.record_marks(uow, OSHTU, 7, [{"student": "S1", "status": "absent"}], actor="T1")
    assert uow.emitted == []


def test_an_unknown_session_is_not_found(uow, store):
    with pytest.raises(NotFound):
        handlers.record_marks(uow, OSHTU, 8, [{"student": "S1", "status": "absent"}], actor="T1")
    with pytest.raises(NotFound):
        handlers.get_session(uow, OSHTU, "seven")


def test_an_executed_correction_sets_the_mark_audited_as_corrected_with_its_approval_003_4_4_2(uow, store):
    entered = STARTS + timedelta(minutes=5)
    store.sessions[7].first_entry_at = entered
    store.marks = [mark(7, "S1", "absent", "teacher", entered)]
    uow.clock = entered + timedelta(days=10)
    row = handlers.load_session(uow, 7, lock=True)
    handlers.write_marks(uow, OSHTU, row, [{"student": "S1", "status": "excused"}], actor="HEAD1",
                         role=domain.CORRECTION, on_behalf_of=None, reason="late document",
                         approval="correction 4")
    assert (store.marks[0].status, store.marks[0].source) == ("excused", "correction")
    assert store.marks[0].first_entry_at == entered
    payload = uow.emitted[0].payload
    assert (payload["source"], payload["approval"], payload["reason"]) == ("correction", "correction 4",
                                                                           "late document")
    assert [(a["action"], a["approval"], a["actor"]) for a in uow.audited] == [("corrected", "correction 4",
                                                                                "HEAD1")]
    on_the_wire(uow)


def test_a_completed_makeup_turns_the_absence_into_made_up_and_is_not_the_first_entry_003_5_4_2(uow, store):
    store.marks = [mark(7, "S1", "absent", "teacher", STARTS)]
    row = handlers.load_session(uow, 7, lock=True)
    handlers.write_marks(uow, OSHTU, row, [{"student": "S1", "status": "made_up"}], actor="T2", role="makeup",
                         on_behalf_of=None, reason=None, approval="make-up 3")
    assert store.sessions[7].first_entry_at is None, "a make-up is not the entry of attendance"
    assert (store.marks[0].status, store.marks[0].source) == ("made_up", "makeup")
    assert store.marks[0].first_entry_at == STARTS, "the teacher's entry stays on record"
    assert uow.emitted[0].payload["source"] == "makeup"
    assert uow.audited[0]["action"] == "recorded" and uow.audited[0]["approval"] == "make-up 3"


# -- the topic --------------------------------------------------------------------------------------------------


def test_a_topic_is_recorded_once_and_audited_with_the_old_and_new_values(uow, store):
    answer = handlers.set_topic(uow, OSHTU, 7, "Limits", "lecture notes", actor="T9", on_behalf_of="T1")
    assert (store.sessions[7].topic, store.sessions[7].work_kind) == ("Limits", "lecture notes")
    assert uow.types() == ["topic.recorded"]
    p = uow.emitted[0].payload
    assert (p["topic"], p["work_kind"], p["actor"], p["on_behalf_of"]) == ("Limits", "lecture notes", "T9", "T1")
    assert uow.audited == [{"entity": "session", "entity_id": "7", "action": "topic", "actor": "T9",
                            "on_behalf_of": "T1", "old": {"topic": None, "work_kind": None},
                            "new": {"topic": "Limits", "work_kind": "lecture notes"}, "chain": "session:7",
                            "at": uow.clock}]
    assert answer["topic"] == "Limits"
    on_the_wire(uow)
    handlers.set_topic(uow, OSHTU, 7, "Limits", "lecture notes", actor="T1")
    assert len(uow.emitted) == 1 and len(uow.audited) == 1, "the same topic again changes nothing"


def test_a_plan_is_audited_as_plan(uow, store):
    handlers.set_plan(uow, OSHTU, 7, "Derivatives", actor="T1")
    assert store.sessions[7].planned_topic == "Derivatives"
    assert uow.audited[0]["action"] == "plan" and uow.audited[0]["on_behalf_of"] is None
    assert uow.emitted[0].payload["planned_topic"] == "Derivatives"


# -- the live roster ----------------------------------------------------------------------------------------------


def test_the_live_roster_flags_one_device_for_two_students_and_lists_refused_scans(uow, store):
    store.marks = [Mark(session=7, student="S1", status="present", source="checkin", set_by="S1",
                        set_at=STARTS, first_entry_at=None)]
    store.checkins = [Checkin(session=7, student="S1", at=STARTS, address="10.0.0.5", device="phone-A"),
                      Checkin(session=7, student="S2", at=STARTS, address="10.0.0.6", device="phone-A")]
    store.refused = [SimpleNamespace(student="S9", at=STARTS, code="forbidden", reason="not on the roster")]
    view = handlers.live_roster(uow, OSHTU, 7)
    assert view["shared_devices"] == [{"device": "phone-A", "students": ["S1", "S2"]}]
    assert [(s["student"], s["status"], s["shared_device"]) for s in view["students"]] == [
        ("S1", "present", True), ("S2", None, True)]
    assert view["refused_checkins"] == [{"student": "S9", "at": "2026-10-05T08:00:00+06:00", "code": "forbidden",
                                         "reason": "not on the roster"}]
    schemas.LiveRosterSchema().load(view)


# -- the timetable -------------------------------------------------------------------------------------------------


def stored(id_: int, ref: str, **kw: Any) -> domain.StoredSession:
    values = {"term": "2026F", "discipline": "MATH", "group": "G1", "subgroup": None, "kind": "practice",
              "teacher": "T1", "starts_at": STARTS, "minutes": 80, "room": "101", **kw}
    return domain.StoredSession(id=id_, ref=ref, **values)


def timetable_row(ref: str, **kw: Any) -> dict[str, Any]:
    return {"ref": ref, "discipline": "MATH", "group": "G1", "kind": "practice", "teacher": "T1",
            "starts_at": STARTS.isoformat(), "minutes": 80, "room": "101", **kw}


@pytest.fixture
def timetable(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"locked": 0, "terms": {}, "groups": {"G1": ["1", "2"]},
                             "existing": {"R1": stored(1, "R1"), "R2": stored(2, "R2")}}

    def lock(tx: Any) -> None:
        state["locked"] += 1

    monkeypatch.setattr(queries, "lock_timetable", lock)
    monkeypatch.setattr(queries, "stored_sessions",
                        lambda tx, refs: {r: s for r, s in state["existing"].items() if r in refs})
    monkeypatch.setattr(queries, "timetable_known", lambda tx, existing: domain.TimetableKnown(
        groups=dict(state["groups"]), assignments={("T1", "MATH", "G1", "practice", None),
                                                   ("T2", "MATH", "G1", "practice", None)}, existing=existing))
    monkeypatch.setattr(queries, "term", lambda tx, code: state["terms"].get(code))
    return state


BATCH_TERM = {"code": "2026F", "starts": "2026-09-01", "ends": "2026-12-31"}


def test_a_timetable_creates_changes_and_keeps_sessions_scheduling_each_once_000_2(uow, timetable):
    body = {"term": BATCH_TERM, "sessions": [timetable_row("R1"), timetable_row("R2", teacher="T2"),
                                             timetable_row("R3", room=None)]}
    result = handlers.import_timetable(uow, OSHTU, body, actor="OFFICE1")
    assert timetable["locked"] == 1, "one import at a time"
    assert result == {"term": "2026F", "sessions": {"R1": 1, "R2": 2, "R3": 100}, "created": 1, "updated": 1,
                      "unchanged": 1}
    schemas.ImportedSchema().load(result)
    terms = [r for r in uow.tx.added if isinstance(r, Term)]
    assert [(t.code, t.starts, t.ends) for t in terms] == [("2026F", date(2026, 9, 1), date(2026, 12, 31))]
    assert [r["ref"] for r in uow.tx.inserted] == ["R3"] and uow.tx.inserted[0]["late"] is False
    assert uow.tx.updated == [{"id": 2, "teacher": "T2", "starts_at": STARTS, "minutes": 80, "room": "101"}]
    assert uow.types() == ["session.scheduled", "session.scheduled"]
    assert [(e.payload["id"], e.payload["ref"], e.payload["teacher"]) for e in uow.emitted] == [
        (100, "R3", "T1"), (2, "R2", "T2")]
    assert uow.emitted[0].payload["starts_at"] == "2026-10-05T08:00:00+06:00"
    on_the_wire(uow)
    assert [(a["entity"], a["entity_id"], a["action"], a["chain"], a["new"]) for a in uow.audited] == [
        ("timetable", "2026F", "imported", "timetable:2026F", {"created": 1, "updated": 1, "unchanged": 1})]


def test_a_timetable_that_changes_nothing_is_not_audited_and_updates_a_terms_dates(uow, timetable):
    timetable["terms"]["2026F"] = Term(code="2026F", starts=date(2026, 9, 1), ends=date(2026, 12, 20))
    result = handlers.import_timetable(uow, OSHTU, {"term": BATCH_TERM, "sessions": [timetable_row("R1")]},
                                       actor="OFFICE1")
    assert result["unchanged"] == 1 and uow.emitted == [] and uow.audited == []
    assert timetable["terms"]["2026F"].ends == date(2026, 12, 31)
    assert uow.tx.added == []


def test_a_timetable_naming_a_group_identity_has_not_announced_yet_waits_for_it(uow, timetable, monkeypatch):
    timetable["groups"] = {}
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        timetable["groups"] = {"G1": []}  # identity's event arrives meanwhile

    monkeypatch.setattr(handlers.eventlet, "sleep", sleep)
    result = handlers.import_timetable(uow, OSHTU, {"term": BATCH_TERM, "sessions": [timetable_row("R4")]},
                                       actor="OFFICE1")
    assert waits == [handlers.REFERENCE_POLL_S] and result["created"] == 1


def test_a_timetable_with_a_bad_row_is_refused_whole_naming_it(uow, timetable, monkeypatch):
    monkeypatch.setattr(handlers, "REFERENCE_GRACE_S", 0.0)
    monkeypatch.setattr(handlers.eventlet, "sleep", lambda s: None)
    body = {"term": BATCH_TERM, "sessions": [timetable_row("R5"), timetable_row("R6", group="G9"),
                                             timetable_row("R7", starts_at=at("2027-02-01").isoformat())]}
    with pytest.raises(ValidationFailed) as err:
        handlers.import_timetable(uow, OSHTU, body, actor="OFFICE1")
    assert set(err.value.errors) == {"sessions[1].group", "sessions[2].starts_at"}
    assert uow.tx.added == [] and uow.tx.inserted == [] and uow.emitted == [] and uow.audited == []


# -- listing sessions -----------------------------------------------------------------------------------------------


def test_sessions_of_a_student_never_enrolled_are_none_and_a_foreign_cursor_is_refused(uow, store, monkeypatch):
    calls: list[dict[str, Any]] = []

    def page(tx: Any, tz: str, size: int, **kw: Any) -> list[Session]:
        calls.append({"tz": tz, "size": size, **kw})
        return [store.sessions[7]] * (size + 1)

    monkeypatch.setattr(queries, "sessions_page", page)
    assert handlers.list_sessions(uow, OSHTU, student="NOBODY") == {"items": [], "next_cursor": None}
    assert calls == []
    with pytest.raises(ValidationFailed) as err:
        handlers.list_sessions(uow, OSHTU, date_to="next week")
    assert "to" in err.value.errors
    answer = handlers.list_sessions(uow, OSHTU, student="S1", date_from="2026-10-05", date_to="2026-10-05",
                                    limit=2)
    schemas.SessionListSchema().load(answer)
    assert len(answer["items"]) == 2 and answer["next_cursor"]
    call = calls[0]
    assert call["starts_from"] == at("2026-10-05", "00:00")
    assert call["starts_to"] == (at("2026-10-06", "00:00"), False), "a date is the whole local day"
    assert call["periods"] == [Period("G1", "1", date(2026, 9, 1), None)]
    handlers.list_sessions(uow, OSHTU, cursor=answer["next_cursor"])
    assert calls[1]["after"] == (STARTS, 7)


# -- excuses ------------------------------------------------------------------------------------------------------


EXCUSE = {"student": "S1", "from": "2026-10-05", "to": "2026-10-06", "kind": "sick", "document": "справка 12"}


def test_an_excuse_is_filed_pending_announced_and_audited_late_filing_flagged_003_4_2_3(uow, store):
    uow.clock = at("2026-10-13", "10:00")  # back Wed 7 Oct: due Mon 12 Oct
    view = handlers.file_excuse(uow, OSHTU, EXCUSE, actor="S1", role="student")
    assert (view["state"], view["late_filing"], view["document_due"], view["id"]) == ("pending", True,
                                                                                      "2026-10-12", 1)
    assert uow.types() == ["excuse.filed"] and uow.emitted[0].payload == view
    assert uow.audited == [{"entity": "excuse", "entity_id": "1", "action": "filed", "actor": "S1",
                            "student": "S1", "new": view, "chain": "excuse:1", "at": uow.clock}]
    schemas.ExcuseViewSchema().load(view)


def test_an_excuse_is_refused_for_another_student_an_unknown_kind_or_an_archived_year(uow, store):
    with pytest.raises(Forbidden):
        handlers.file_excuse(uow, OSHTU, EXCUSE, actor="S2", role="student")
    with pytest.raises(ValidationFailed) as err:
        handlers.file_excuse(uow, JAGU, EXCUSE, actor="D1", role="directorate")
    assert "kind" in err.value.errors
    store.closed = [domain.ClosedYear("2026-2027", date(2026, 9, 1), date(2027, 6, 30))]
    with pytest.raises(Locked):
        handlers.file_excuse(uow, OSHTU, EXCUSE, actor="D1", role="directorate")
    assert uow.emitted == [] and uow.tx.added == []


def excuse_row(store: Store, state: str = "pending") -> Excuse:
    row = Excuse(id=5, student="S1", from_=date(2026, 10, 5), to=date(2026, 10, 6), kind="sick",
                 document="справка 12", filed_by="S1", filed_at=at("2026-10-07"), late_filing=False, state=state,
                 decided_by=None, decided_at=None, note=None)
    store.excuses[5] = row
    return row


def test_approving_an_excuse_turns_the_ranges_absences_into_its_kind_one_event_per_session_003_4_2_4(uow, store):
    excuse_row(store)
    for sid, starts in ((8, at("2026-10-06", "10:00")), (9, at("2026-10-07", "08:00"))):
        store.sessions[sid] = Session(id=sid, ref=f"R{sid}", term="2026F", discipline="PHYS", group="G1",
                                      subgroup=None, kind="lecture", teacher="T3", starts_at=starts, minutes=80,
                                      room=None, late=False, first_entry_at=starts, last_entry_at=starts)
    store.marks = [mark(7, "S1", "absent", "teacher", STARTS), mark(8, "S1", "absent", "teacher", STARTS),
                   mark(9, "S1", "absent", "teacher", STARTS),  # the day after the excuse
                   mark(7, "S2", "absent", "teacher", STARTS)]
    answer = handlers.decide_excuse(uow, OSHTU, 5, True, "ok", actor="D1")
    assert ("excuse", 5) in store.locked
    assert [(m.session, m.student, m.status, m.source) for m in store.marks] == [
        (7, "S1", "sick", "excuse"), (8, "S1", "sick", "excuse"), (9, "S1", "absent", "teacher"),
        (7, "S2", "absent", "teacher")]
    assert answer["state"] == "approved" and answer["decided_by"] == "D1" and answer["note"] == "ok"
    assert answer["changes"] == [{"session": 7, "student": "S1", "old": "absent", "new": "sick"},
                                 {"session": 8, "student": "S1", "old": "absent", "new": "sick"}]
    assert uow.types() == ["marks.recorded", "marks.recorded", "excuse.decided"]
    assert [(e.payload["session"], e.payload["source"], e.payload["approval"], e.payload["reason"])
            for e in uow.emitted[:2]] == [(7, "excuse", "excuse 5", "ok"), (8, "excuse", "excuse 5", "ok")]
    assert uow.emitted[2].payload == answer
    on_the_wire(uow)
    schemas.ExcuseDecidedSchema().load(answer)
    assert [(a["entity"], a["entity_id"], a["action"], a.get("old"), a.get("new"), a["chain"])
            for a in uow.audited] == [
        ("mark", "7:S1", "excused", "absent", "sick", "session:7"),
        ("mark", "8:S1", "excused", "absent", "sick", "session:8"),
        ("excuse", "5", "approved", "pending", "approved", "excuse:5")]
    assert "on_behalf_of" not in uow.audited[0], "as before: an excuse's mark entries name no one on behalf"


def test_rejecting_an_excuse_changes_no_mark_and_a_decided_excuse_is_not_decided_again(uow, store):
    excuse_row(store)
    store.marks = [mark(7, "S1", "absent", "teacher", STARTS)]
    answer = handlers.decide_excuse(uow, OSHTU, 5, False, "no stamp", actor="D1")
    assert answer["state"] == "rejected" and answer["changes"] == []
    assert store.marks[0].status == "absent"
    assert uow.types() == ["excuse.decided"]
    assert [(a["entity"], a["action"], a["reason"]) for a in uow.audited] == [("excuse", "rejected", "no stamp")]
    with pytest.raises(Conflict):
        handlers.decide_excuse(uow, OSHTU, 5, True, None, actor="D1")
    with pytest.raises(NotFound):
        handlers.get_excuse(uow, OSHTU, 6)


def test_an_excuse_of_an_archived_year_is_not_decided_rules_9(uow, store):
    excuse_row(store)
    store.closed = [domain.ClosedYear("2026-2027", date(2026, 9, 1), date(2027, 6, 30))]
    with pytest.raises(Locked):
        handlers.decide_excuse(uow, OSHTU, 5, True, None, actor="D1")
    assert store.excuses[5].state == "pending" and uow.emitted == []


def test_listing_no_students_excuses_is_empty_without_a_query(uow, store):
    assert handlers.list_excuses(uow, OSHTU, students=[]) == {"items": [], "next_cursor": None}


# -- the student's group today ---------------------------------------------------------------------------------------


def test_the_students_group_today_with_its_department_and_none_when_not_enrolled(uow, store):
    answer = handlers.student_faculty_group(uow, OSHTU, "S1")
    assert answer == {"group": "G1", "subgroup": "1", "department": "CS-DEPT"}
    assert handlers.student_faculty_group(uow, OSHTU, "S3") == {"group": None, "subgroup": None,
                                                                "department": None}
    schemas.FacultyGroupSchema().load(answer)
