"""Attendance: the only writer of the timetable, topics, marks, check-ins and excuses. Thin entrypoints:
load what the request touches, let `domain` decide, write state + outbox event + audit in one commit, answer.

The gateway has already checked who may call and the time windows; this service re-checks the invariants it
owns (the classifier, who may set which status, the roster, the check-in window, an excuse decided once).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any

import eventlet
from nameko.rpc import rpc
from sqlalchemy import Date, and_, cast, func, insert, or_, select, text, tuple_, update

from attendance import domain
from attendance.models import (
    Assignment,
    Checkin,
    ClosedYear,
    Discipline,
    Enrolment,
    Excuse,
    GroupUnit,
    Mark,
    Session,
    Term,
)
from attendance.schemas import (
    ExcuseSchema,
    MarkSchema,
    PlanSchema,
    TimetableSchema,
    TopicSchema,
)
from kernel.consumer import handles
from kernel.db import Database
from kernel.errors import Locked, NotFound, ValidationFailed
from kernel.events import Envelope
from kernel.paging import decode_cursor, encode_cursor, page_by_id, page_size
from kernel.policy import MAKEUP, Policy
from kernel.readmodels import apply_assignment, replace_enrolment
from kernel.service import ServiceBase
from kernel.validation import invalid as _invalid
from kernel.validation import load as _load
from kernel.wire import as_id as _id
from kernel.wire import iso as _iso
from kernel.wire import policy

REFERENCE_GRACE_S = 3.0  # how long a timetable naming unknown groups or load waits for identity's events
SCHEDULED = ("id", "ref", "term", "discipline", "group", "subgroup", "kind", "teacher", "starts_at", "minutes",
             "room")


def session_chain(session_id: int) -> str:
    """The audit chain of a session: its marks, check-ins and topic (kernel.audit: one chain per stream)."""
    return f"session:{session_id}"


def _bound(pol: Policy, value: str, field: str, end: bool) -> tuple[datetime, bool]:
    """A date is a whole local day (from its start; to the start of the next day, exclusive); a date-time is
    itself (inclusive). Returns (instant, inclusive)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time.min, tzinfo=pol.tz), not end
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _invalid(field, "not an ISO date or date-time") from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=pol.tz)), True


def _period(e: Any) -> domain.Period:
    return domain.Period(e.group, e.subgroup, e.starts, e.ends)


def _mark_view(pol: Policy, m: Mark) -> dict[str, Any]:
    return {"student": m.student, "status": m.status,
            "mark": pol.code(m.status).mark if pol.has_code(m.status) else m.status,
            "source": m.source, "set_at": _iso(pol, m.set_at)}


def _summary(pol: Policy, row: Session) -> dict[str, Any]:
    return {"id": row.id, "ref": row.ref, "term": row.term, "discipline": row.discipline, "group": row.group,
            "subgroup": row.subgroup, "kind": row.kind, "teacher": row.teacher,
            "starts_at": _iso(pol, row.starts_at), "minutes": row.minutes, "room": row.room,
            "planned_topic": row.planned_topic, "topic": row.topic, "work_kind": row.work_kind,
            "late": bool(row.late), "first_entry_at": _iso(pol, row.first_entry_at),
            "last_entry_at": _iso(pol, row.last_entry_at)}


def _scheduled(pol: Policy, values: dict[str, Any]) -> dict[str, Any]:
    view = {k: values.get(k) for k in SCHEDULED}
    view["starts_at"] = _iso(pol, values["starts_at"])
    return view


def _marks_event(pol: Policy, row: Any, changes: Iterable[domain.Change], *, actor: str,
                 on_behalf_of: str | None, source: str, reason: str | None = None,
                 approval: str | None = None) -> dict[str, Any]:
    return {"session": row.id, "term": row.term, "discipline": row.discipline, "group": row.group,
            "subgroup": row.subgroup, "kind": row.kind, "teacher": row.teacher,
            "starts_at": _iso(pol, row.starts_at),
            "changes": [{"student": c.student, "old": c.old, "new": c.new} for c in changes],
            "late": bool(row.late), "first_entry_at": _iso(pol, row.first_entry_at), "source": source,
            "actor": actor, "on_behalf_of": on_behalf_of, "reason": reason, "approval": approval}


def _topic_event(pol: Policy, row: Session, actor: str, on_behalf_of: str | None) -> dict[str, Any]:
    return {"session": row.id, "term": row.term, "discipline": row.discipline, "group": row.group,
            "subgroup": row.subgroup, "kind": row.kind, "teacher": row.teacher,
            "starts_at": _iso(pol, row.starts_at), "planned_topic": row.planned_topic, "topic": row.topic,
            "work_kind": row.work_kind, "actor": actor, "on_behalf_of": on_behalf_of}


def _excuse_view(pol: Policy, e: Excuse) -> dict[str, Any]:
    due = domain.document_due(pol, e.to)
    return {"id": e.id, "student": e.student, "from": e.from_.isoformat(), "to": e.to.isoformat(),
            "kind": e.kind, "document": e.document, "filed_by": e.filed_by, "filed_at": _iso(pol, e.filed_at),
            "late_filing": bool(e.late_filing), "document_due": due.isoformat() if due else None,
            "state": e.state, "decided_by": e.decided_by, "decided_at": _iso(pol, e.decided_at), "note": e.note}


class AttendanceService(ServiceBase):
    name = "attendance"
    db = Database()

    # -- loading ------------------------------------------------------------------------------------------
    def _session(self, session_id: Any, lock: bool = False) -> Session:
        row = self.db.session.get(Session, _id(session_id, "session"), with_for_update=lock or None)
        if row is None:
            raise NotFound(f"no session {session_id}")
        return row

    def _closed_years(self) -> list[domain.ClosedYear]:
        return [domain.ClosedYear(y.year, y.starts, y.ends) for y in self.db.session.scalars(select(ClosedYear))]

    def _check_year(self, pol: Policy, first: date, last: date | None = None, role: str | None = None) -> None:
        reason = domain.year_lock(self._closed_years(), first, last, role)
        if reason:
            raise Locked(reason)

    def _roster(self, pol: Policy, row: Session) -> list[str]:
        periods = self.db.session.execute(select(Enrolment.student, Enrolment.group, Enrolment.subgroup,
                                                 Enrolment.starts, Enrolment.ends)
                                          .where(Enrolment.group == row.group)).all()
        return domain.roster(((e.student, _period(e)) for e in periods), row.group, row.subgroup,
                             domain.session_day(pol, row.starts_at))

    def _view(self, pol: Policy, row: Session, student: str | None = None) -> dict[str, Any]:
        q = select(Mark).where(Mark.session == row.id).order_by(Mark.student)
        if student is not None:
            q = q.where(Mark.student == student)
        roster = self._roster(pol, row)
        return {**_summary(pol, row),
                "marks": [_mark_view(pol, m) for m in self.db.session.scalars(q)],
                "roster": [s for s in roster if student is None or s == student]}

    # -- the timetable ------------------------------------------------------------------------------------
    @rpc
    def import_timetable(self, body: Any, actor: str) -> dict[str, Any]:
        batch = _load(TimetableSchema(), body)
        pol = policy()
        uow = self.db
        s = uow.session
        uow.execute(text("SELECT pg_advisory_xact_lock(hashtext('attendance.timetable'))"))  # one at a time
        refs = [r["ref"] for r in batch["sessions"]]
        stored = s.execute(select(Session.id, Session.ref, Session.term, Session.discipline, Session.group,
                                  Session.subgroup, Session.kind, Session.teacher, Session.starts_at,
                                  Session.minutes, Session.room).where(Session.ref.in_(refs))).all() if refs else []
        marked = set(s.scalars(select(Mark.session).where(Mark.session.in_([r.id for r in stored])).distinct())
                     ) if stored else set()
        existing = {r.ref: domain.StoredSession(**r._mapping, has_marks=r.id in marked) for r in stored}
        patience = monotonic() + REFERENCE_GRACE_S
        while True:
            known = domain.TimetableKnown(
                groups=dict(s.execute(select(GroupUnit.code, GroupUnit.subgroups)).tuples().all()),
                assignments=set(s.execute(select(Assignment.teacher, Assignment.discipline, Assignment.group,
                                                 Assignment.kind, Assignment.subgroup)).tuples()),
                existing=existing)
            try:
                plan = domain.check_timetable(batch, known, pol)
                break
            except ValidationFailed as exc:
                if monotonic() > patience or not domain.only_references(exc.errors or {}):
                    raise
                eventlet.sleep(0.25)  # identity's events may trail a load imported a moment ago

        term = batch["term"]
        row = s.get(Term, term["code"])
        if row is None:
            s.add(Term(code=term["code"], starts=term["starts"], ends=term["ends"]))
        elif (row.starts, row.ends) != (term["starts"], term["ends"]):
            row.starts, row.ends = term["starts"], term["ends"]
        s.flush()

        fields = ("ref", "discipline", "group", "subgroup", "kind", "teacher", "starts_at", "minutes", "room")
        ids = {st.ref: st.id for st in plan.unchanged}
        scheduled: list[dict[str, Any]] = []
        if plan.new:
            values = [{**{k: r[k] for k in fields}, "term": term["code"], "late": False} for r in plan.new]
            created = s.execute(insert(Session).returning(Session.id, Session.ref), values).all()
            ids.update({c.ref: c.id for c in created})
            scheduled += [{**v, "id": ids[v["ref"]]} for v in values]
        if plan.changed:
            s.execute(update(Session), [{"id": st.id, **{k: r[k] for k in domain.MUTABLE}}
                                        for st, r in plan.changed])
            for st, r in plan.changed:
                ids[st.ref] = st.id
                scheduled.append({**{k: r[k] for k in fields}, "term": term["code"], "id": st.id})
        for values in scheduled:
            uow.emit("session.scheduled", _scheduled(pol, values), actor=actor)
        result = {"term": term["code"], "sessions": {ref: ids[ref] for ref in refs}, "created": len(plan.new),
                  "updated": len(plan.changed), "unchanged": len(plan.unchanged)}
        if plan.new or plan.changed:
            uow.audit(entity="timetable", entity_id=term["code"], action="imported", actor=actor,
                      chain=f"timetable:{term['code']}",
                      new={k: result[k] for k in ("created", "updated", "unchanged")})
        uow.commit()
        return result

    @rpc
    def list_sessions(self, group: str | None = None, discipline: str | None = None, teacher: str | None = None,
                      date_from: str | None = None, date_to: str | None = None, limit: int = 100,
                      cursor: str | None = None, student: str | None = None) -> dict[str, Any]:
        pol = policy()
        s = self.db.session
        size = page_size(limit)
        q = select(Session)
        for column, value in ((Session.group, group), (Session.discipline, discipline),
                              (Session.teacher, teacher)):
            if value is not None:
                q = q.where(column == value)
        if date_from:
            instant, _ = _bound(pol, date_from, "from", end=False)
            q = q.where(Session.starts_at >= instant)
        if date_to:
            instant, inclusive = _bound(pol, date_to, "to", end=True)
            q = q.where(Session.starts_at <= instant if inclusive else Session.starts_at < instant)
        if student is not None:
            # the sessions whose roster includes the student: one condition per enrolment period (domain.on_roster)
            periods = s.execute(select(Enrolment.group, Enrolment.subgroup, Enrolment.starts, Enrolment.ends)
                                .where(Enrolment.student == student)).all()
            day = cast(func.timezone(pol.timezone, Session.starts_at), Date)
            conditions = [and_(Session.group == p.group,
                               or_(Session.subgroup.is_(None), Session.subgroup == p.subgroup),
                               day >= p.starts, *([day < p.ends] if p.ends else []))
                          for p in periods]
            if not conditions:
                return {"items": [], "next_cursor": None}
            q = q.where(or_(*conditions))
        if cursor:
            parts = decode_cursor(cursor, 2)
            try:
                after = (datetime.fromisoformat(parts[0]), int(parts[1]))
            except (TypeError, ValueError):
                raise _invalid("cursor", "not a cursor this service gave") from None
            q = q.where(tuple_(Session.starts_at, Session.id) > tuple_(*after))
        rows = list(s.scalars(q.order_by(Session.starts_at, Session.id).limit(size + 1)))
        more = len(rows) > size
        rows = rows[:size]
        return {"items": [_summary(pol, r) for r in rows],
                "next_cursor": encode_cursor(rows[-1].starts_at.isoformat(), rows[-1].id) if more else None}

    @rpc
    def get_session(self, session_id: int, student: str | None = None) -> dict[str, Any]:
        return self._view(policy(), self._session(session_id), student)

    @rpc
    def set_plan(self, session_id: int, planned_topic: str | None, actor: str) -> dict[str, Any]:
        values = _load(PlanSchema(), {"planned_topic": planned_topic})
        return self._write_topic(session_id, values, actor, None, "plan")

    @rpc
    def set_topic(self, session_id: int, topic: str | None, work_kind: str | None, actor: str,
                  on_behalf_of: str | None = None) -> dict[str, Any]:
        values = _load(TopicSchema(), {"topic": topic, "work_kind": work_kind})
        return self._write_topic(session_id, values, actor, on_behalf_of, "topic")

    def _write_topic(self, session_id: Any, values: dict[str, Any], actor: str, on_behalf_of: str | None,
                     action: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        row = self._session(session_id, lock=True)
        self._check_year(pol, domain.session_day(pol, row.starts_at))
        old = {k: getattr(row, k) for k in values}
        if old != values:
            for k, v in values.items():
                setattr(row, k, v)
            uow.session.flush()
            uow.emit("topic.recorded", _topic_event(pol, row, actor, on_behalf_of), actor=actor)
            uow.audit(entity="session", entity_id=str(row.id), action=action, actor=actor,
                      on_behalf_of=on_behalf_of, old=old, new=values, chain=session_chain(row.id))
            uow.commit()
        return self._view(pol, row)

    # -- marks --------------------------------------------------------------------------------------------
    @rpc
    def record_marks(self, session_id: int, marks: Any, actor: str, role: str = "teacher",
                     on_behalf_of: str | None = None, reason: str | None = None) -> dict[str, Any]:
        if not isinstance(marks, list):
            raise _invalid("marks", "a list of {student, status}")
        wanted = _load(MarkSchema(many=True), marks, "marks")
        pol = policy()
        row = self._session(session_id, lock=True)  # one writer per session: check-ins wait (FOR KEY SHARE)
        self._write_marks(pol, row, wanted, actor=actor, role=role, on_behalf_of=on_behalf_of, reason=reason)
        self.db.commit()
        return self._view(pol, row)

    def _write_marks(self, pol: Policy, row: Session, wanted: list[dict[str, Any]], *, actor: str, role: str,
                     on_behalf_of: str | None, reason: str | None, approval: str | None = None) -> None:
        """The one audited path every mark a person sets takes (a teacher, a substitute, a make-up, an executed
        correction); `row` is locked by the caller, who commits."""
        uow = self.db
        s = uow.session
        self._check_year(pol, domain.session_day(pol, row.starts_at), role=role)
        stored = {m.student: m for m in s.scalars(select(Mark).where(Mark.session == row.id))}
        now = uow.now()
        changes = domain.decide_marks(pol, role, wanted, self._roster(pol, row),
                                      {k: domain.Mark(m.status, m.source, m.first_entry_at) for k, m in stored.items()},
                                      now)
        # the teacher's first entry (003 §4.2.1); a make-up or a correction is not the entry of attendance
        first = row.first_entry_at is None and bool(wanted) and role not in (MAKEUP, *domain.APPROVED)
        if first:
            row.first_entry_at = now
            row.late = domain.entry_late(pol, row.starts_at, now)
        if changes:
            row.last_entry_at = now
        for c in changes:
            source = domain.source_for(pol, role, c.new)
            mark = stored.get(c.student)
            entered = now if source == "teacher" else None  # a teacher's value, timed from here
            if mark is None:
                s.add(Mark(session=row.id, student=c.student, status=c.new, source=source, set_by=actor,
                           set_at=now, first_entry_at=entered))
            else:
                if mark.source != "teacher" or mark.first_entry_at is None:
                    mark.first_entry_at = entered
                mark.status, mark.source, mark.set_by, mark.set_at = c.new, source, actor, now
        s.flush()
        if changes or first:
            source = domain.source_for(pol, role, changes[0].new) if changes else "teacher"
            uow.emit("marks.recorded", _marks_event(pol, row, changes, actor=actor, on_behalf_of=on_behalf_of,
                                                    source=source, reason=reason, approval=approval), actor=actor)
        action = "corrected" if role == domain.CORRECTION else "recorded"
        for c in changes:
            uow.audit(entity="mark", entity_id=f"{row.id}:{c.student}", action=action, actor=actor,
                      on_behalf_of=on_behalf_of, student=c.student, old=c.old, new=c.new, reason=reason,
                      approval=approval, chain=session_chain(row.id))

    # QR check-ins arrive through the command queue and are recorded in batches: attendance.intake

    @rpc
    def live_roster(self, session_id: int) -> dict[str, Any]:
        pol = policy()
        s = self.db.session
        row = self._session(session_id)
        marks = {m.student: m for m in s.scalars(select(Mark).where(Mark.session == row.id))}
        checkins = {c.student: c for c in s.scalars(select(Checkin).where(Checkin.session == row.id))}
        shared = domain.shared_devices((c.student, c.device) for c in checkins.values())
        flagged = {st for students in shared.values() for st in students}
        students = []
        for code in self._roster(pol, row):
            mark, chk = marks.get(code), checkins.get(code)
            students.append({
                "student": code, "status": mark.status if mark else None,
                "mark": _mark_view(pol, mark)["mark"] if mark else None,
                "checked_in_at": _iso(pol, chk.at) if chk else None, "device": chk.device if chk else None,
                "address": chk.address if chk else None, "shared_device": code in flagged})
        refused = s.execute(text(
            "SELECT student, at, new->>'code' AS code, reason FROM attendance.audit_log"
            " WHERE chain = :chain AND entity = 'checkin' AND action = 'refused' ORDER BY id"),
            {"chain": session_chain(row.id)})
        return {"session": row.id, "students": students,
                "shared_devices": [{"device": d, "students": st} for d, st in shared.items()],
                # scans answered at the gateway but refused by this service's re-check (attendance.intake)
                "refused_checkins": [{"student": r.student, "at": _iso(pol, r.at), "code": r.code, "reason": r.reason}
                                     for r in refused]}

    # -- excuses (003 §4.2.3-4.2.4) ---------------------------------------------------------------------------
    @rpc
    def file_excuse(self, body: Any, actor: str, role: str) -> dict[str, Any]:
        values = _load(ExcuseSchema(), body)
        pol = policy()
        uow = self.db
        s = uow.session
        known = s.scalar(select(Enrolment.id).where(Enrolment.student == values["student"]).limit(1)) is not None
        domain.check_excuse(pol, values, student_known=known, actor=actor, role=role)
        self._check_year(pol, values["from_"], values["to"], role=role)
        now = uow.now()
        row = Excuse(student=values["student"], from_=values["from_"], to=values["to"], kind=values["kind"],
                     document=values["document"], filed_by=actor, filed_at=now,
                     late_filing=domain.late_filing(pol, values["to"], now), state="pending")
        s.add(row)
        s.flush()
        view = _excuse_view(pol, row)
        uow.emit("excuse.filed", view, actor=actor)
        uow.audit(entity="excuse", entity_id=str(row.id), action="filed", actor=actor, student=row.student,
                  new=view, chain=f"excuse:{row.id}")
        uow.commit()
        return view

    @rpc
    def decide_excuse(self, excuse_id: int, approve: bool, note: str | None, actor: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        s = uow.session
        row = s.get(Excuse, _id(excuse_id, "excuse"), with_for_update=True)
        if row is None:
            raise NotFound(f"no excuse {excuse_id}")
        domain.check_decision(row.state)
        self._check_year(pol, row.from_, row.to)
        now = uow.now()
        approval = f"excuse {row.id}"
        changed: list[dict[str, Any]] = []
        if approve:
            lo = datetime.combine(row.from_, time.min, tzinfo=pol.tz)
            hi = datetime.combine(row.to + timedelta(days=1), time.min, tzinfo=pol.tz)
            in_range = and_(Mark.student == row.student, Session.starts_at >= lo, Session.starts_at < hi)
            # lock the sessions first, as record_marks does, so a teacher's write cannot interleave
            s.execute(select(Session.id).join(Mark, Mark.session == Session.id).where(in_range)
                      .order_by(Session.id).with_for_update(of=Session)).all()
            found = s.execute(select(Mark, Session).join(Session, Mark.session == Session.id).where(in_range)).all()
            sessions = {sess.id: sess for _, sess in found}
            marks = {m.session: m for m, _ in found}
            changes = domain.excused_changes(
                row.kind, row.from_, row.to,
                ((m.session, domain.session_day(pol, sess.starts_at), m.student, domain.Mark(m.status, m.source))
                 for m, sess in found))
            by_session: dict[int, list[domain.Change]] = {}
            for sid, c in changes:
                mark = marks[sid]
                mark.status, mark.source, mark.set_by, mark.set_at = c.new, "excuse", actor, now
                by_session.setdefault(sid, []).append(c)
                changed.append({"session": sid, "student": c.student, "old": c.old, "new": c.new})
            s.flush()
            for sid, cs in sorted(by_session.items()):
                uow.emit("marks.recorded", _marks_event(pol, sessions[sid], cs, actor=actor, on_behalf_of=None,
                                                        source="excuse", reason=note, approval=approval),
                         actor=actor)
        row.state = "approved" if approve else "rejected"
        row.decided_by, row.decided_at, row.note = actor, now, note
        s.flush()
        view = _excuse_view(pol, row)
        uow.emit("excuse.decided", {**view, "changes": changed}, actor=actor)
        for c in changed:
            uow.audit(entity="mark", entity_id=f"{c['session']}:{c['student']}", action="excused", actor=actor,
                      student=c["student"], old=c["old"], new=c["new"], reason=note, approval=approval,
                      chain=session_chain(c["session"]))
        uow.audit(entity="excuse", entity_id=str(row.id), action=row.state, actor=actor, student=row.student,
                  old="pending", new=row.state, reason=note, chain=f"excuse:{row.id}")
        uow.commit()
        return {**view, "changes": changed}

    @rpc
    def get_excuse(self, excuse_id: int) -> dict[str, Any]:
        row = self.db.session.get(Excuse, _id(excuse_id, "excuse"))
        if row is None:
            raise NotFound(f"no excuse {excuse_id}")
        return _excuse_view(policy(), row)

    @rpc
    def list_excuses(self, state: str | None = None, students: list[str] | None = None, limit: int = 100,
                     cursor: str | None = None) -> dict[str, Any]:
        pol = policy()
        q = select(Excuse)
        if state is not None:
            q = q.where(Excuse.state == state)
        if students is not None:
            if not students:
                return {"items": [], "next_cursor": None}
            q = q.where(Excuse.student.in_(list(students)))
        return page_by_id(self.db.session, q, Excuse.id, limit, cursor, lambda r: _excuse_view(pol, r))

    @rpc
    def student_faculty_group(self, student: str) -> dict[str, Any]:
        """The student's enrolment today (local date), with the group's department."""
        pol = policy()
        s = self.db.session
        periods = [_period(e) for e in s.scalars(select(Enrolment).where(Enrolment.student == student))]
        current = domain.enrolled_on(periods, pol.local(self.db.now()).date())
        if current is None:
            return {"group": None, "subgroup": None, "department": None}
        unit = s.get(GroupUnit, current.group)
        return {"group": current.group, "subgroup": current.subgroup,
                "department": unit.department if unit else None}

    # -- read models, from identity's events ----------------------------------------------------------------
    @handles("identity", "org.changed")
    def on_org_changed(self, event: Envelope) -> None:
        p = event.payload
        if p.get("kind") != "group":
            return
        s = self.db.session
        row = s.get(GroupUnit, p["code"])
        subgroups = list(p.get("subgroups") or [])
        if row is None:
            s.add(GroupUnit(code=p["code"], department=p.get("parent"), subgroups=subgroups))
        else:
            row.department, row.subgroups = p.get("parent"), subgroups

    @handles("identity", "enrolment.changed")
    def on_enrolment_changed(self, event: Envelope) -> None:
        """The payload carries the student's whole enrolment history: replace it."""
        replace_enrolment(self.db.session, Enrolment, event.payload)

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        p = event.payload
        s = self.db.session
        row = s.get(Discipline, p["code"])
        if row is None:
            s.add(Discipline(code=p["code"], name=p.get("name") or p["code"], control=p.get("control") or "exam"))
        else:
            row.name, row.control = p.get("name") or p["code"], p.get("control") or row.control

    @handles("identity", "assignment.changed")
    def on_assignment_changed(self, event: Envelope) -> None:
        apply_assignment(self.db.session, Assignment, event.payload)

    # -- grading's events: executed corrections, the archived year ---------------------------------------------
    @handles("grading", "correction.executed")
    def on_correction_executed(self, event: Envelope) -> None:
        """An approved late correction of a mark (003 §4.4.2): the same audited path as a teacher's marks, with
        the approval named; a correction of a grade is grading's own. A redelivery is claimed once (`handles`)
        and would change nothing anyway (the mark already has the value)."""
        p = event.payload
        target = p.get("target") or {}
        if target.get("kind") != "attendance":
            return
        pol = policy()
        row = self._session(target.get("session"), lock=True)
        self._write_marks(pol, row, [{"student": target.get("student"), "status": p.get("value")}],
                          actor=p.get("actor") or event.actor or "grading", role=domain.CORRECTION,
                          on_behalf_of=None, reason=p.get("reason"),
                          approval=p.get("approval") or f"correction {p.get('id')}")

    @handles("grading", "year.closed")
    def on_year_closed(self, event: Envelope) -> None:
        p = event.payload
        s = self.db.session
        if s.get(ClosedYear, p["year"]) is None:
            closed_at = p.get("closed_at") or event.occurred_at
            s.add(ClosedYear(year=p["year"], starts=date.fromisoformat(p["starts"]), ends=date.fromisoformat(p["ends"]),
                             closed_by=p.get("actor") or event.actor,
                             closed_at=datetime.fromisoformat(closed_at) if closed_at else None))

    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        """A completed make-up turns the absence into `made_up` (003 §5: "отработка аткарылды"), only this way;
        the same audited path as every mark, with the make-up named as the approval."""
        p = event.payload
        pol = policy()
        row = self._session(p["session"], lock=True)
        self._write_marks(pol, row, [{"student": p["student"], "status": "made_up"}],
                          actor=p.get("actor") or event.actor or "makeup", role=MAKEUP, on_behalf_of=None,
                          reason=p.get("comment"), approval=f"make-up {p['id']}")
