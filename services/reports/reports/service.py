"""The reports service's nameko entrypoints: idempotent consumers that keep the read models (never another
service's tables, ARCHITECTURE.md), and the RPCs that answer reports and render documents from them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from kernel.config import settings
from kernel.consumer import handles
from kernel.db import Database
from kernel.errors import NotFound, ValidationFailed
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.policy import LANGUAGES, Policy, load_preset
from kernel.service import ServiceBase
from kernel.wire import iso
from reports import domain, readers, render
from reports.models import (
    Assessment,
    Case,
    Discipline,
    Grade,
    Mark,
    MarkedRollup,
    OrgUnit,
    Person,
    ScheduledReport,
    Session,
    Statement,
    Tally,
    TallyRollup,
)

log = logging.getLogger("reports")
# how often the timer looks for a finished period (seconds of real time; the period itself follows the clock)
SCHEDULE_EVERY_S = float(os.environ.get("EJOURNAL_REPORTS_SCHEDULE_SECONDS", "10"))


def policy() -> Policy:
    return load_preset(settings().preset)


def _check_format(errors: dict[str, str], fmt: Any, formats: tuple[str, ...], lang: Any) -> None:
    if fmt not in formats:
        errors["fmt"] = f"one of {', '.join(formats)}"
    if lang not in LANGUAGES:
        errors["lang"] = f"one of {', '.join(LANGUAGES)}"


def _mark(pol: Policy, status: str) -> str:
    return pol.code(status).mark if pol.has_code(status) else status


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _occurred(event: Envelope) -> datetime:
    at = _instant(event.occurred_at)
    assert at is not None
    return at


def _scheduled_view(pol: Policy, row: ScheduledReport) -> dict[str, Any]:
    return {"id": row.id, "report": row.report, "cadence": row.cadence, "period": row.period,
            "from": row.period_start.isoformat(), "to": row.period_end.isoformat(), "scope_kind": row.scope_kind,
            "scope": row.scope, "generated_at": iso(pol, row.generated_at)}


def _by_pair(found: Iterable[readers.Evaluation]) -> dict[tuple[str, str], list[readers.Evaluation]]:
    out: dict[tuple[str, str], list[readers.Evaluation]] = {}
    for e in found:
        out.setdefault((e.group, e.discipline), []).append(e)
    return out


class ReportsService(ServiceBase):
    name = "reports"
    db = Database()
    domain_gauges = (  # kernel/metrics.py; marks as the report's read model counts them
        DomainGauge("ejournal_marks", "Attendance marks by status",
                    "SELECT status, sum(n) FROM reports.tally_rollup GROUP BY status", ("status",)),
    )

    # -- read models: identity ---------------------------------------------------------------------------------
    # Every upsert keeps the newest value by the event's time (or the person's revision): the handlers give the
    # same tables in any order of events, so a rebuild can replay while live events arrive (reports/rebuild.py).
    @handles("identity", "org.changed")
    def on_org_changed(self, event: Envelope) -> None:
        p = event.payload
        stmt = insert(OrgUnit).values(code=p["code"], kind=p["kind"], name=p.get("name") or p["code"],
                                      parent=p.get("parent"), at=_occurred(event))
        self.db.execute(stmt.on_conflict_do_update(
            index_elements=["code"], set_={k: stmt.excluded[k] for k in ("kind", "name", "parent", "at")},
            where=or_(OrgUnit.at.is_(None), OrgUnit.at <= stmt.excluded.at)))

    @handles("identity", "person.changed")
    def on_person_changed(self, event: Envelope) -> None:
        p = event.payload
        stmt = insert(Person).values(code=p["code"], kind=p["kind"], full_name=p["full_name"],
                                     department=p.get("department"), group=p.get("group"),
                                     revision=int(p.get("revision") or 0), children=list(p.get("children") or []))
        self.db.execute(stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={k: stmt.excluded[k] for k in ("kind", "full_name", "department", "group", "revision", "children")},
            where=Person.revision <= stmt.excluded.revision))  # an older state arriving late changes nothing

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        p = event.payload
        stmt = insert(Discipline).values(code=p["code"], name=p["name"], control=p.get("control"),
                                         at=_occurred(event))
        self.db.execute(stmt.on_conflict_do_update(
            index_elements=["code"], set_={k: stmt.excluded[k] for k in ("name", "control", "at")},
            where=or_(Discipline.at.is_(None), Discipline.at <= stmt.excluded.at)))

    # -- read models: attendance -------------------------------------------------------------------------------
    def _upsert_session(self, p: dict[str, Any], session_id: Any, at: datetime) -> None:
        """The session's timetable fields, newest by the event's time. The row is locked either way, so two
        events of one session apply one after the other; when a newer event moves the session to another group,
        discipline or teacher, its counts move with it in the rollups."""
        sid = int(session_id)
        values = {"term": p.get("term"), "group": p["group"], "subgroup": p.get("subgroup"),
                  "discipline": p["discipline"], "teacher": p["teacher"], "kind": p.get("kind"),
                  "starts_at": _instant(p["starts_at"]), "scheduled_at": at}
        s = self.db.session
        if s.execute(insert(Session).values(id=sid, **values).on_conflict_do_nothing(index_elements=["id"])
                     .returning(Session.id)).first() is not None:
            return  # new: no marks to move yet
        old = s.execute(select(Session.group, Session.discipline, Session.teacher, Session.scheduled_at,
                               Session.marked).where(Session.id == sid).with_for_update()).one()
        if not domain.newer(old.scheduled_at, at):
            return  # an older state arriving late changes nothing
        s.execute(update(Session).where(Session.id == sid).values(**values))
        before, after = (old.group, old.discipline, old.teacher), (p["group"], p["discipline"], p["teacher"])
        if before != after:
            counts = dict(s.execute(select(Tally.status, Tally.n).where(Tally.session == sid, Tally.n != 0))
                          .tuples().all())
            self._roll({before: {k: -n for k, n in counts.items()}, after: counts},
                       {before: -1, after: 1} if old.marked else {})

    def _roll(self, marks: dict[tuple[str, str, str], dict[str, int]],
              sessions: dict[tuple[str, str, str], int]) -> None:
        """Move the rollups of report rows (group, discipline, teacher) by the given marks per status and marked
        sessions, in the transaction that moved `tally` and `session.marked`. Rows in key order: two handlers
        moving the same rows lock them in the same order."""
        rows = [{"group": k[0], "discipline": k[1], "teacher": k[2], "status": st, "n": n}
                for k in sorted(marks) for st, n in sorted(marks[k].items()) if n]
        if rows:  # executemany: each statement is compiled once per process, whatever the number of rows
            stmt = insert(TallyRollup)
            self.db.execute(stmt.on_conflict_do_update(
                index_elements=["group", "discipline", "teacher", "status"],
                set_={"n": TallyRollup.n + stmt.excluded.n}), rows)
        held = [{"group": k[0], "discipline": k[1], "teacher": k[2], "sessions": n}
                for k, n in sorted(sessions.items()) if n]
        if held:
            stmt = insert(MarkedRollup)
            self.db.execute(stmt.on_conflict_do_update(
                index_elements=["group", "discipline", "teacher"],
                set_={"sessions": MarkedRollup.sessions + stmt.excluded.sessions}), held)

    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        self._upsert_session(event.payload, event.payload["id"], _occurred(event))

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        """Marks, the per-session tally and the report's rollups move together; a mark set by a newer event is not
        overwritten by an older one. The session's first entry and its lateness are kept as attendance flagged
        them."""
        p = event.payload
        sid = int(p["session"])
        at = _occurred(event)
        self._upsert_session(p, sid, at)
        s = self.db.session
        row = s.execute(select(Session.first_entry_at, Session.late, Session.group, Session.discipline,
                               Session.teacher, Session.marked).where(Session.id == sid)).one()
        entry = domain.merge_entry(domain.Entry(row.first_entry_at, row.late), _instant(p.get("first_entry_at")),
                                   p.get("late"))
        if entry != domain.Entry(row.first_entry_at, row.late):
            s.execute(update(Session).where(Session.id == sid).values(first_entry_at=entry.first_entry_at,
                                                                      late=entry.late))
        latest = {c["student"]: c["new"] for c in p.get("changes") or []}
        if not latest:
            return
        stored = {m.student: m for m in s.scalars(select(Mark).where(Mark.session == sid,
                                                                     Mark.student.in_(list(latest))))}
        delta: dict[str, int] = {}
        first = False  # the session's first mark: it joins the marked sessions
        for student, status in latest.items():
            mark = stored.get(student)
            if mark is None:
                s.add(Mark(session=sid, student=student, status=status, at=at))
                first = not row.marked
            elif not domain.newer(mark.at, at):
                continue
            else:
                if mark.status == status:
                    mark.at = at
                    continue
                delta[mark.status] = delta.get(mark.status, 0) - 1
                mark.status, mark.at = status, at
            delta[status] = delta.get(status, 0) + 1
        s.flush()
        changed = [{"session": sid, "status": k, "n": n} for k, n in sorted(delta.items()) if n]
        if changed:
            stmt = insert(Tally)
            s.execute(stmt.on_conflict_do_update(index_elements=["session", "status"],
                                                 set_={"n": Tally.n + stmt.excluded.n}), changed)
        if first:
            s.execute(update(Session).where(Session.id == sid).values(marked=True))
        key = (row.group, row.discipline, row.teacher)
        self._roll({key: {k: n for k, n in delta.items() if n}}, {key: 1} if first else {})

    @handles("attendance", "topic.recorded")
    def on_topic_recorded(self, event: Envelope) -> None:
        """The planned topic (calendar-thematic plan) and the topic and kind of work recorded, newest wins."""
        p = event.payload
        sid = int(p["session"])
        at = _occurred(event)
        self._upsert_session(p, sid, at)
        self.db.execute(update(Session).where(Session.id == sid, or_(Session.topic_at.is_(None),
                                                                     Session.topic_at <= at))
                        .values(planned_topic=p.get("planned_topic"), topic=p.get("topic"),
                                work_kind=p.get("work_kind"), topic_at=at))

    def _case(self, kind: str, event: Envelope, state: str | None = None) -> None:
        """A student's excuse, make-up, dispute or appeal: the payload merged into what is stored (newer wins)."""
        p = event.payload
        at = _occurred(event)
        data = {k: v for k, v in p.items() if k != "changes"}  # marks an excuse changed come as marks.recorded
        if state is not None:
            data["state"] = state
        s = self.db.session
        data, versions = domain.merge_case(None, None, data, at)
        inserted = s.execute(insert(Case).values(kind=kind, id=int(p["id"]), student=p["student"],
                                                 state=data.get("state"), data=data, versions=versions, at=at)
                             .on_conflict_do_nothing().returning(Case.id)).first()
        if inserted is not None:
            return
        row = s.execute(select(Case).where(Case.kind == kind, Case.id == int(p["id"])).with_for_update()).scalar_one()
        row.data, row.versions = domain.merge_case(row.data, row.versions, data, at)
        row.state, row.at = row.data.get("state"), max(row.at, at)

    @handles("attendance", "excuse.filed")
    def on_excuse_filed(self, event: Envelope) -> None:
        self._case("excuse", event)

    @handles("attendance", "excuse.decided")
    def on_excuse_decided(self, event: Envelope) -> None:
        self._case("excuse", event)

    # -- read models: grading ----------------------------------------------------------------------------------
    def _statement_event(self, event: Envelope) -> None:
        p = event.payload
        stmt = insert(Statement).values(id=int(p["id"]), group=p["group"], discipline=p["discipline"],
                                        kind=p["kind"], state=p["state"], covers_until=_instant(p.get("covers_until")),
                                        at=_occurred(event))
        self.db.execute(stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={k: stmt.excluded[k] for k in ("group", "discipline", "kind", "state", "covers_until", "at")},
            where=Statement.at <= stmt.excluded.at))

    @handles("grading", "statement.created")
    def on_statement_created(self, event: Envelope) -> None:
        self._statement_event(event)

    @handles("grading", "statement.posted")
    def on_statement_posted(self, event: Envelope) -> None:
        self._statement_event(event)

    @handles("grading", "statement.closed")
    def on_statement_closed(self, event: Envelope) -> None:
        self._statement_event(event)

    def _upsert_assessment(self, p: dict[str, Any], assessment_id: Any, full: bool) -> None:
        """An assessment's fields (they do not change once created); the upsert locks its row, so the grade
        events of one assessment apply one after the other. Title and author come only with `assessment.created`."""
        values = {"id": int(assessment_id), "group": p["group"], "discipline": p["discipline"], "kind": p["kind"],
                  "day": date.fromisoformat(p["date"]), "max": float(p["max"])}
        if full:
            values.update(title=p.get("title"), created_by=p.get("created_by"))
        stmt = insert(Assessment).values(**values)
        self.db.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
            k: stmt.excluded[k] for k in values if k != "id"}))

    @handles("grading", "assessment.created")
    def on_assessment_created(self, event: Envelope) -> None:
        self._upsert_assessment(event.payload, event.payload["id"], full=True)

    @handles("grading", "grade.recorded")
    def on_grade_recorded(self, event: Envelope) -> None:
        """Grades as entered, corrected through the chain (role `correction`) or changed by an appeal decision
        (role `commission`): the newest value by the event's time, the first entry's lateness kept."""
        p = event.payload
        aid = int(p["assessment"])
        at = _occurred(event)
        self._upsert_assessment(p, aid, full=False)
        changes = {c["student"]: float(c["new"]) for c in p.get("changes") or [] if c.get("new") is not None}
        if not changes:
            return
        late = set(p.get("late") or [])
        s = self.db.session
        stored = {g.student: g for g in s.scalars(select(Grade).where(Grade.assessment == aid,
                                                                      Grade.student.in_(list(changes))))}
        for student, value in changes.items():
            row = stored.get(student)
            before = None if row is None else domain.GradeState(row.value, row.late, row.first_at, row.at, row.role,
                                                                 row.reason, row.approval, row.changes)
            after = domain.merge_grade(before, value, student in late, at, p.get("role"), p.get("reason"),
                                       p.get("approval"))
            if row is None:
                s.add(Grade(assessment=aid, student=student, **asdict(after)))
            else:
                for k, v in asdict(after).items():
                    setattr(row, k, v)

    # -- read models: makeup -----------------------------------------------------------------------------------
    @handles("makeup", "makeup.requested")
    def on_makeup_requested(self, event: Envelope) -> None:
        self._case("makeup", event)

    @handles("makeup", "makeup.assigned")
    def on_makeup_assigned(self, event: Envelope) -> None:
        self._case("makeup", event)

    @handles("makeup", "makeup.extension_step")
    def on_makeup_extension_step(self, event: Envelope) -> None:
        self._case("makeup", event)

    @handles("makeup", "makeup.extended")
    def on_makeup_extended(self, event: Envelope) -> None:
        self._case("makeup", event)

    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        self._case("makeup", event, state="completed")

    @handles("makeup", "dispute.opened")
    def on_dispute_opened(self, event: Envelope) -> None:
        self._case("dispute", event)

    @handles("makeup", "dispute.resolved")
    def on_dispute_resolved(self, event: Envelope) -> None:
        self._case("dispute", event)

    @handles("makeup", "dispute.escalated")
    def on_dispute_escalated(self, event: Envelope) -> None:
        self._case("dispute", event)

    @handles("makeup", "appeal.filed")
    def on_appeal_filed(self, event: Envelope) -> None:
        self._case("appeal", event)

    @handles("makeup", "appeal.decided")
    def on_appeal_decided(self, event: Envelope) -> None:
        self._case("appeal", event, state="decided")

    @handles("makeup", "appeal.closed")
    def on_appeal_closed(self, event: Envelope) -> None:
        self._case("appeal", event, state="decided")

    # -- reading ---------------------------------------------------------------------------------------------
    def _names(self, people: Iterable[str], disciplines: Iterable[str] = ()) -> dict[str, str]:
        return readers.names(self.db.session, people, disciplines)

    @rpc
    def attendance_report(self, faculty: str | None = None, group: str | None = None,
                          discipline: str | None = None, teacher: str | None = None, date_from: str | None = None,
                          date_to: str | None = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        """Marks per status, attendance rate, excused and made-up shares per group × discipline × teacher
        (RULES.md §8), summed in SQL over the per-session tally."""
        pol = policy()
        filters, errors = domain.parse_filters(faculty, group, discipline, teacher, date_from, date_to)
        _check_format(errors, fmt, domain.FORMATS, lang)
        if errors:
            raise ValidationFailed("invalid report filters", errors)
        report = self._attendance(pol, filters)
        if fmt == "json":
            return report
        doc = render.attendance_document(pol, report, lang, self._names(
            (r["teacher"] for r in report["rows"]), (r["discipline"] for r in report["rows"])))
        return render.render_table(doc, fmt, f"attendance-{self.db.now().astimezone(pol.tz):%Y-%m-%d}")

    def _attendance(self, pol: Policy, filters: domain.Filters) -> dict[str, Any]:
        """Without dates the counts come from the rollups by report row (a few rows per row of the report); with
        dates from the per-session tally of the sessions inside them. Both give the same numbers for the same
        sessions: the rollups are the tallies summed by group × discipline × teacher."""
        s = self.db.session
        params: dict[str, Any] = {"now": self.db.now()}
        where = []
        for name in ("group", "discipline", "teacher"):
            if getattr(filters, name):
                where.append(f'"{name}" = :{name}')
                params[name] = getattr(filters, name)
        if filters.faculty:
            where.append('"group" IN (SELECT g.code FROM reports.org_unit g JOIN reports.org_unit d'
                         " ON d.code = g.parent WHERE g.kind = 'group' AND d.parent = :faculty)")
            params["faculty"] = filters.faculty
        counts: dict[tuple[str, str, str], dict[str, int]] = {}
        held: dict[tuple[str, str, str], int] = {}
        if filters.date_from is None and filters.date_to is None:
            # one round trip: marks per status, then (status NULL) the marked sessions from the rollup and the
            # unmarked ones that started (a session counts once it started or has marks)
            cond = " AND ".join(where) or "TRUE"
            for g, d, t, status, n in s.execute(text(
                    f'SELECT "group", discipline, teacher, status, n FROM reports.tally_rollup'
                    f" WHERE {cond} AND n <> 0"
                    f' UNION ALL SELECT "group", discipline, teacher, NULL, sessions FROM reports.marked_rollup'
                    f" WHERE {cond} AND sessions <> 0"
                    f' UNION ALL SELECT "group", discipline, teacher, NULL, count(*) FROM reports.session'
                    f" WHERE {cond} AND NOT marked AND starts_at <= :now GROUP BY 1, 2, 3"), params):
                if status is None:
                    held[(g, d, t)] = held.get((g, d, t), 0) + int(n)
                else:
                    counts.setdefault((g, d, t), {})[status] = int(n)
        else:
            if filters.date_from:
                where.append("starts_at >= :start")
                params["start"] = datetime.combine(filters.date_from, time(), pol.tz)
            if filters.date_to:
                where.append("starts_at < :end")
                params["end"] = datetime.combine(filters.date_to + timedelta(days=1), time(), pol.tz)
            cond = " AND ".join(where)
            for g, d, t, status, n in s.execute(text(
                    f'SELECT s."group", s.discipline, s.teacher, t.status, sum(t.n)::bigint FROM'
                    f" (SELECT * FROM reports.session WHERE {cond}) s JOIN reports.tally t ON t.session = s.id"
                    f" GROUP BY 1, 2, 3, 4 HAVING sum(t.n) <> 0"), params):
                counts.setdefault((g, d, t), {})[status] = int(n)
            for g, d, t, n in s.execute(text(
                    f'SELECT "group", discipline, teacher, count(*) FROM reports.session'
                    f" WHERE {cond} AND (marked OR starts_at <= :now) GROUP BY 1, 2, 3"), params):
                held[(g, d, t)] = int(n)
        keys = sorted(set(counts) | set(held))
        names = self._names((k[2] for k in keys), (k[1] for k in keys))
        by = domain.classes(pol)
        rows = [domain.report_row(pol, {"group": g, "discipline": d, "teacher": t,
                                        "discipline_name": names.get(f"discipline:{d}"),
                                        "teacher_name": names.get(t)},
                                  held.get((g, d, t), 0), counts.get((g, d, t), {}), by)
                for g, d, t in keys]
        return {"filters": filters.wire(), "rows": rows, "totals": domain.totals(pol, rows)}

    # -- the journal-filling report (Appendix No. 1, RULES.md §8) ---------------------------------------------
    def _filling(self, pol: Policy, teacher: str, term: str | None = None, start: datetime | None = None,
                 end: datetime | None = None) -> dict[str, Any]:
        """One teacher's filling, per group × discipline, for a term or for [start, end)."""
        s = self.db.session
        now = self.db.now()
        sessions = readers.teacher_sessions(s, teacher, term, start, end)
        if term is not None:
            first, last = readers.term_span(s, term)
        else:
            first, last = start, (end - timedelta(microseconds=1) if end else None)
        first_day = pol.local(first).date() if first else None
        last_day = pol.local(last).date() if last else None
        pairs = sorted({(x.group, x.discipline) for x in sessions})
        graded = readers.teacher_grades(s, teacher, pairs, first_day, last_day)
        rows = []
        names = self._names([teacher], (d for _, d in pairs))
        for group, discipline in pairs:
            fills = [domain.SessionFill(x.starts_at, x.first_entry_at, x.late, x.planned_topic, x.topic)
                     for x in sessions if (x.group, x.discipline) == (group, discipline)]
            lates = [g.late for a, grades in graded if (a.group, a.discipline) == (group, discipline) for g in grades]
            rows.append({"group": group, "discipline": discipline,
                         "discipline_name": names.get(f"discipline:{discipline}"),
                         **domain.filling_counts(pol, fills, lates, now)})
        who = readers.person(s, teacher)
        return {"teacher": teacher, "teacher_name": names.get(teacher), "department": who.department if who else None,
                "term": term, "period": {"from": first_day.isoformat() if first_day else None,
                                         "to": last_day.isoformat() if last_day else None},
                "generated_at": iso(pol, now), "rows": rows,
                "totals": domain.sum_counts(rows, ("scheduled", *domain.FILLING_COLUMNS))}

    def _teacher(self, teacher: Any, term: Any, errors: dict[str, str]) -> tuple[str, str]:
        code = domain.check_code(teacher, "teacher", errors)
        term_code = domain.check_code(term, "term", errors)
        if errors:
            raise ValidationFailed("invalid report request", errors)
        assert code is not None and term_code is not None
        who = readers.person(self.db.session, code)
        if who is None or who.kind != "staff":
            raise NotFound(f"no teacher {code}")
        return code, term_code

    @rpc
    def filling_report(self, teacher: Any, term: Any, fmt: str = "json", lang: str = "ky",
                       journal_url: Any = None) -> dict[str, Any]:
        """The journal-filling report of a teacher and term ("Appendix No. 1", RULES.md §8; 001 §5.4-5.6): json,
        or the PDF to print and sign, with a QR code to `journal_url` (the teacher's journal for inspection)."""
        errors: dict[str, str] = {}
        _check_format(errors, fmt, ("json", "pdf"), lang)
        if journal_url is not None and (not isinstance(journal_url, str) or not 0 < len(journal_url) <= 2000):
            errors["journal_url"] = "the URL of the teacher's journal (at most 2000 characters)"
        code, term_code = self._teacher(teacher, term, errors)
        pol = policy()
        report = {**self._filling(pol, code, term_code), "journal_url": journal_url}
        if fmt == "json":
            return report
        names = self._names([code], (r["discipline"] for r in report["rows"]))
        return render.render_filling(render.filling_document(pol, report, lang, names),
                                     f"filling-{code}-{term_code}-{lang}")

    @rpc
    def teacher_journal(self, teacher: Any, term: Any) -> dict[str, Any]:
        """A teacher's journal for a term as an inspector opens it from Appendix No. 1's QR code (001 §5.6): every
        session with its entry, topic and marks, every assessment with its grades, and the filling totals."""
        code, term_code = self._teacher(teacher, term, {})
        pol = policy()
        s = self.db.session
        now = self.db.now()
        sessions = readers.teacher_sessions(s, code, term_code)
        marks = readers.tallies(s, [x.id for x in sessions])
        first, last = readers.term_span(s, term_code)
        pairs = {(x.group, x.discipline) for x in sessions}
        graded = readers.teacher_grades(s, code, pairs, pol.local(first).date() if first else None,
                                        pol.local(last).date() if last else None)
        names = self._names([code], (d for _, d in pairs))
        return {
            "teacher": code, "teacher_name": names.get(code), "term": term_code,
            "sessions": [{"id": x.id, "starts_at": iso(pol, x.starts_at), "group": x.group, "subgroup": x.subgroup,
                          "discipline": x.discipline, "discipline_name": names.get(f"discipline:{x.discipline}"),
                          "kind": x.kind, "planned_topic": x.planned_topic, "topic": x.topic,
                          "work_kind": x.work_kind, "first_entry_at": iso(pol, x.first_entry_at),
                          "entry": domain.entry_state(pol, domain.SessionFill(
                              x.starts_at, x.first_entry_at, x.late, x.planned_topic, x.topic), now),
                          "marks": marks.get(x.id, {})} for x in sessions],
            "assessments": [{"id": a.id, "group": a.group, "discipline": a.discipline, "kind": a.kind,
                             "title": a.title, "date": a.day.isoformat(), "max": a.max, "grades": len(grades),
                             "late": sum(1 for g in grades if g.late)} for a, grades in graded],
            "filling": self._filling(pol, code, term_code)["totals"],
        }

    # -- the student record ------------------------------------------------------------------------------------
    @rpc
    def student_record(self, student: Any, lang: str = "ru") -> dict[str, Any]:
        """Everything the reports' read models hold on one student (API.md `/students/{code}/record`): attendance
        and grades by discipline, the forecast, excuses, make-ups, disputes and appeals."""
        errors: dict[str, str] = {}
        code = domain.check_code(student, "student", errors)
        _check_format(errors, "json", ("json",), lang)
        if errors:
            raise ValidationFailed("invalid record request", errors)
        assert code is not None
        s = self.db.session
        who = readers.person(s, code)
        if who is None or who.kind != "student":
            raise NotFound(f"no student {code}")
        pol = policy()
        marks = readers.student_marks(s, code)
        grades = readers.student_grades(s, code)
        forecast = {(e.group, e.discipline): e for e in readers.evaluate(s, pol, student=code)}
        keys = sorted({(x.group, x.discipline) for x, _ in marks} | {(a.group, a.discipline) for a, _ in grades}
                      | set(forecast))
        names = self._names([x.teacher for x, _ in marks], (d for _, d in keys))
        disciplines = []
        for group, discipline in keys:
            mine = [(x, m) for x, m in marks if (x.group, x.discipline) == (group, discipline)]
            counts: dict[str, int] = {}
            for _, m in mine:
                counts[m.status] = counts.get(m.status, 0) + 1
            e = forecast.get((group, discipline))
            disciplines.append({
                "group": group, "discipline": discipline, "discipline_name": names.get(f"discipline:{discipline}"),
                "attendance": {"marks": counts, "percent": e.attendance.percent if e and e.attendance.held else None,
                               "sessions": [{"session": x.id, "starts_at": iso(pol, x.starts_at), "kind": x.kind,
                                             "teacher": x.teacher, "teacher_name": names.get(x.teacher),
                                             "status": m.status, "mark": _mark(pol, m.status),
                                             "label": domain.status_label(pol, m.status, lang)} for x, m in mine]},
                "grades": [{"assessment": a.id, "kind": a.kind, "title": a.title, "date": a.day.isoformat(),
                            "max": a.max, "value": g.value, "late": g.late, "corrected": g.changes > 1,
                            "role": g.role, "reason": g.reason, "approval": g.approval}
                           for a, g in grades if (a.group, a.discipline) == (group, discipline)],
                "forecast": None if e is None else {
                    "earned": e.projection.earned, "observed": e.projection.observed,
                    "projected": e.projection.projected if e.projection.graded else None,
                    "reasons": [domain.reason_wire(pol, r, lang) for r in e.reasons]},
            })
        cases: dict[str, list[dict[str, Any]]] = {"excuse": [], "makeup": [], "dispute": [], "appeal": []}
        for c in readers.student_cases(s, code):
            cases.setdefault(c.kind, []).append({**c.data, "id": c.id, "state": c.state})
        return {"student": {"code": code, "full_name": who.full_name, "group": who.group,
                            "faculty": readers.faculty_of_group(s, who.group)},
                "disciplines": disciplines, "excuses": cases["excuse"], "makeups": cases["makeup"],
                "disputes": cases["dispute"], "appeals": cases["appeal"],
                "at_risk": any(d["forecast"] and d["forecast"]["reasons"] for d in disciplines)}

    # -- the at-risk forecast ----------------------------------------------------------------------------------
    @rpc
    def at_risk(self, faculty: Any = None, group: Any = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        """Students whose attendance or projected total falls below the preset's `at_risk` thresholds, with the
        reason in words and their parents to contact (RULES.md §4; 000 §5, 002 §7.6)."""
        errors: dict[str, str] = {}
        faculty_code = domain.check_code(faculty, "faculty", errors, required=False)
        group_code = domain.check_code(group, "group", errors, required=False)
        _check_format(errors, fmt, domain.FORMATS, lang)
        if errors:
            raise ValidationFailed("invalid report filters", errors)
        pol = policy()
        s = self.db.session
        groups = [group_code] if group_code else readers.units(s, "group", faculty_code)
        body = {"filters": {"faculty": faculty_code, "group": group_code}, **self._at_risk(pol, groups, lang)}
        if fmt == "json":
            return body
        return render.render_table(render.at_risk_document(pol, body, lang, "at_risk_report"), fmt,
                                   f"at-risk-{self.db.now().astimezone(pol.tz):%Y-%m-%d}")

    def _at_risk(self, pol: Policy, groups: list[str], lang: str) -> dict[str, Any]:
        s = self.db.session
        found = [e for e in readers.evaluate(s, pol, groups=groups) if e.reasons]
        students = sorted({e.student for e in found})
        names = self._names(students, (e.discipline for e in found))
        parents = readers.parents_of(s, students)
        items: dict[str, dict[str, Any]] = {}
        for e in found:
            item = items.setdefault(e.student, {"student": e.student, "full_name": names.get(e.student),
                                                "group": e.group, "parents": parents.get(e.student, []),
                                                "reasons": []})
            item["reasons"] += [{"discipline": e.discipline, "discipline_name": names.get(f"discipline:{e.discipline}"),
                                 **domain.reason_wire(pol, r, lang)} for r in e.reasons]
        rules = pol.at_risk
        return {"thresholds": {"attendance_percent": rules.attendance_percent, "rating_points": rules.rating_points,
                               "min_sessions": rules.min_sessions},
                "generated_at": iso(pol, self.db.now()),
                "items": sorted(items.values(), key=lambda i: (i["group"] or "", i["full_name"] or "", i["student"]))}

    @rpc
    def render_statement(self, statement: Any, fmt: str = "pdf", lang: str = "ru",
                         verify_url: str = "") -> dict[str, Any]:
        """A statement document (ведомость, RULES.md §8) from grading's statement, with a QR code to verify_url."""
        errors: dict[str, str] = {}
        if not isinstance(statement, dict) or not isinstance(statement.get("rows"), list) \
                or not all(isinstance(r, dict) for r in statement["rows"]):
            errors["statement"] = "grading's statement: an object with rows [{student, points, letter, grade5}]"
        if fmt not in domain.DOCUMENT_FORMATS:
            errors["fmt"] = f"one of {', '.join(domain.DOCUMENT_FORMATS)}"
        if lang not in LANGUAGES:
            errors["lang"] = f"one of {', '.join(LANGUAGES)}"
        if not isinstance(verify_url, str) or not verify_url or len(verify_url) > 2000:
            errors["verify_url"] = "the URL of the electronic original (at most 2000 characters)"
        if errors:
            raise ValidationFailed("cannot render this statement", errors)
        pol = policy()
        people = [str(r.get("student")) for r in statement["rows"]]
        people += [str(statement.get(k)) for k in ("posted_by", "created_by") if statement.get(k)]
        names = self._names(people, [str(statement.get("discipline") or "")])
        doc = render.statement_document(pol, statement, lang, verify_url, names,
                                        names.get(f"discipline:{statement.get('discipline')}"))
        return render.render_statement(doc, fmt, f"statement-{statement.get('id', 'draft')}-{lang}")

    # -- scheduled reports (RULES.md §8: weekly or monthly, each semester and year) ------------------------------
    @timer(interval=SCHEDULE_EVERY_S)
    def scheduled_tick(self) -> None:
        """Unattended: generate what is due by the (simulation) clock; each report once per period and scope."""
        try:
            self.generate_due()
        except Exception:  # noqa: BLE001 - the next tick tries again; a timer that raises is only logged
            log.exception("scheduled reports: generation failed")
            self.db.rollback()

    def generate_due(self) -> list[int]:
        """Generate every report of `domain.schedule` for its last finished period that is not stored yet, one
        commit each; a replica that finds another one generating leaves it to it. Returns the new ids."""
        pol = policy()
        uow = self.db
        s = uow.session
        today = pol.local(uow.now()).date()
        made: list[int] = []
        for report, cadence, scope_kind in domain.schedule(pol):
            period = domain.last_finished(cadence, today)
            for scope in readers.units(s, scope_kind):
                # one generator at a time; none while `reports.rebuild` refills the read models it reads
                if not s.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('reports.schedule')) AND "
                                      "pg_try_advisory_xact_lock_shared(hashtext('reports.rebuild'))")).scalar():
                    uow.rollback()
                    return made
                done = s.scalars(select(ScheduledReport.id).where(
                    ScheduledReport.report == report, ScheduledReport.cadence == cadence,
                    ScheduledReport.period_start == period.start, ScheduledReport.scope_kind == scope_kind,
                    ScheduledReport.scope == scope)).first()
                if done is not None:
                    uow.rollback()
                    continue
                body = self._scheduled_body(pol, report, period, scope_kind, scope)
                row = ScheduledReport(report=report, cadence=cadence, period=period.label,
                                      period_start=period.start, period_end=period.end, scope_kind=scope_kind,
                                      scope=scope, generated_at=uow.now(), body=body)
                s.add(row)
                s.flush()
                uow.emit("report.ready", {**_scheduled_view(pol, row)}, actor="system")
                uow.commit()
                made.append(row.id)
        uow.rollback()
        return made

    def _scheduled_body(self, pol: Policy, report: str, period: domain.Period, scope_kind: str,
                        scope: str) -> dict[str, Any]:
        s = self.db.session
        head = {"report": report, "cadence": period.cadence, "scope": {"kind": scope_kind, "code": scope},
                "period": {"label": period.label, "from": period.start.isoformat(), "to": period.end.isoformat()},
                "generated_at": iso(pol, self.db.now())}
        start = datetime.combine(period.start, time(), pol.tz)
        end = datetime.combine(period.end + timedelta(days=1), time(), pol.tz)
        if report == "attendance":
            return {**head, **self._attendance(pol, domain.Filters(faculty=scope, date_from=period.start,
                                                                   date_to=period.end))}
        if report in ("filling_check", "filling_report"):
            return {**head, "teachers": [self._filling(pol, t, start=start, end=end)
                                         for t in readers.teachers_with_sessions(s, scope, start, end)]}
        if report == "contact_list":
            return {**head, **self._at_risk(pol, [scope], "ru")}
        if report == "quality":
            return {**head, **self._quality(pol, readers.units(s, "group", scope))}
        raise ValueError(f"no scheduled report {report!r}")

    def _quality(self, pol: Policy, groups: list[str]) -> dict[str, Any]:
        """Per group × discipline: students, attendance (as grading counts it), the mean share of the maxima
        earned so far, and students at risk (RULES.md §8: quality of education each semester and year)."""
        found = readers.evaluate(self.db.session, pol, groups=groups)
        names = self._names((), (e.discipline for e in found))
        rows = []
        for (group, discipline), evals in sorted(_by_pair(found).items()):
            attendance = domain.Standing(sum(e.attendance.held for e in evals),
                                         sum(e.attendance.earned for e in evals),
                                         sum(e.attendance.counted for e in evals))
            graded = [e.projection.share for e in evals if e.projection.graded]
            rows.append({"group": group, "discipline": discipline,
                         "discipline_name": names.get(f"discipline:{discipline}"), "students": len(evals),
                         "attendance_percent": attendance.percent if attendance.held else None,
                         "mean_grade_percent": round(100 * sum(graded) / len(graded), 1) if graded else None,
                         "at_risk": sum(1 for e in evals if e.reasons)})
        return {"rows": rows}

    @rpc
    def list_scheduled(self, within: Any = None, report: Any = None, limit: Any = 100,
                       cursor: Any = None) -> dict[str, Any]:
        """Stored scheduled reports, newest first; `within` (from the gateway: {"faculties", "departments",
        "groups"}) limits them to the caller's org units, None to all."""
        errors: dict[str, str] = {}
        report_key = domain.check_code(report, "report", errors, required=False)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            errors["limit"] = "a whole number from 1 to 500"
        if cursor not in (None, "") and not (isinstance(cursor, str) and cursor.isdigit()):
            errors["cursor"] = "a cursor this list gave"
        scopes = self._within(within, errors)
        if errors:
            raise ValidationFailed("invalid list request", errors)
        pol = policy()
        q = select(ScheduledReport).order_by(ScheduledReport.id.desc()).limit(limit + 1)
        if report_key:
            q = q.where(ScheduledReport.report == report_key)
        if cursor:
            q = q.where(ScheduledReport.id < int(cursor))
        if scopes is not None:
            q = q.where(tuple_(ScheduledReport.scope_kind, ScheduledReport.scope).in_(scopes or [("", "")]))
        rows = list(self.db.session.scalars(q))
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": [_scheduled_view(pol, r) for r in rows],
                "next_cursor": str(rows[-1].id) if more and rows else None}

    @rpc
    def get_scheduled(self, report_id: Any, within: Any = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        """One stored scheduled report: json (with its body) or a document (csv, xlsx, pdf)."""
        errors: dict[str, str] = {}
        _check_format(errors, fmt, domain.FORMATS, lang)
        scopes = self._within(within, errors)
        if errors:
            raise ValidationFailed("invalid report request", errors)
        row = self.db.session.get(ScheduledReport, report_id) if isinstance(report_id, int) else None
        if row is None or (scopes is not None and (row.scope_kind, row.scope) not in scopes):
            raise NotFound(f"no scheduled report {report_id}")
        pol = policy()
        if fmt == "json":
            return {**_scheduled_view(pol, row), "body": row.body}
        body = row.body
        if row.report == "attendance":
            doc = render.attendance_document(pol, body, lang, self._names(
                (r["teacher"] for r in body["rows"]), (r["discipline"] for r in body["rows"])))
        elif row.report in ("filling_check", "filling_report"):
            doc = render.filling_summary_document(pol, body, lang, row.report,
                                                  self._names(t["teacher"] for t in body["teachers"]))
        elif row.report == "contact_list":
            doc = render.at_risk_document(pol, body, lang, "contact_list")
        else:
            doc = render.quality_document(pol, body, lang)
        return render.render_table(doc, fmt, f"{row.report}-{row.period}-{row.scope}")

    def _within(self, within: Any, errors: dict[str, str]) -> set[tuple[str, str]] | None:
        """The (kind, code) scopes an office caller may read: their faculties with the faculties' departments
        and groups, their departments with their groups, their groups."""
        if within is None:
            return None
        if not isinstance(within, dict) or not all(
                isinstance(within.get(k, []), list) and all(isinstance(c, str) for c in within.get(k, []))
                for k in ("faculties", "departments", "groups")):
            errors["within"] = "{faculties, departments, groups}: lists of codes"
            return set()
        s = self.db.session
        out: set[tuple[str, str]] = set()
        departments = set(within.get("departments", []))
        for f in within.get("faculties", []):
            out.add(("faculty", f))
            departments.update(readers.units(s, "department", f))
        groups = set(within.get("groups", []))
        for d in departments:
            out.add(("department", d))
            groups.update(readers.groups_of_department(s, d))
        out.update(("group", g) for g in groups)
        return out
