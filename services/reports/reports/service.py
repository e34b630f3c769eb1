"""The reports service's nameko entrypoints: idempotent consumers that keep the read models (never another
service's tables, ARCHITECTURE.md), and the RPCs that answer reports and render documents from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from kernel.config import settings
from kernel.consumer import handles
from kernel.db import Database
from kernel.errors import ValidationFailed
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.policy import LANGUAGES, Policy, load_preset
from kernel.service import ServiceBase
from reports import domain, render
from reports.models import Discipline, Mark, OrgUnit, Person, Session, Statement, Tally


def policy() -> Policy:
    return load_preset(settings().preset)


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _occurred(event: Envelope) -> datetime:
    at = _instant(event.occurred_at)
    assert at is not None
    return at


class ReportsService(ServiceBase):
    name = "reports"
    db = Database()
    domain_gauges = (  # kernel/metrics.py; marks as the report's read model counts them
        DomainGauge("ejournal_marks", "Attendance marks by status",
                    "SELECT status, sum(n) FROM reports.tally GROUP BY status", ("status",)),
    )

    # -- read models: identity ---------------------------------------------------------------------------------
    @handles("identity", "org.changed")
    def on_org_changed(self, event: Envelope) -> None:
        p = event.payload
        values = {"code": p["code"], "kind": p["kind"], "name": p.get("name") or p["code"], "parent": p.get("parent")}
        stmt = insert(OrgUnit).values(**values)
        self.db.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={
            k: stmt.excluded[k] for k in ("kind", "name", "parent")}))

    @handles("identity", "person.changed")
    def on_person_changed(self, event: Envelope) -> None:
        p = event.payload
        stmt = insert(Person).values(code=p["code"], kind=p["kind"], full_name=p["full_name"],
                                     department=p.get("department"), group=p.get("group"),
                                     revision=int(p.get("revision") or 0))
        self.db.execute(stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={k: stmt.excluded[k] for k in ("kind", "full_name", "department", "group", "revision")},
            where=Person.revision <= stmt.excluded.revision))  # an older state arriving late changes nothing

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        p = event.payload
        stmt = insert(Discipline).values(code=p["code"], name=p["name"], control=p.get("control"))
        self.db.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={
            "name": stmt.excluded.name, "control": stmt.excluded.control}))

    # -- read models: attendance -------------------------------------------------------------------------------
    def _upsert_session(self, p: dict[str, Any], session_id: Any) -> None:
        stmt = insert(Session).values(id=int(session_id), term=p.get("term"), group=p["group"],
                                      subgroup=p.get("subgroup"), discipline=p["discipline"], teacher=p["teacher"],
                                      kind=p.get("kind"), starts_at=_instant(p["starts_at"]))
        self.db.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
            k: stmt.excluded[k] for k in ("term", "group", "subgroup", "discipline", "teacher", "kind",
                                          "starts_at")}))

    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        self._upsert_session(event.payload, event.payload["id"])

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        """Marks and the per-session tally move together. The session row's upsert locks it, so two events of
        one session apply one after the other; a mark set by a newer event is not overwritten by an older one."""
        p = event.payload
        sid = int(p["session"])
        at = _occurred(event)
        self._upsert_session(p, sid)
        latest = {c["student"]: c["new"] for c in p.get("changes") or []}
        if not latest:
            return
        s = self.db.session
        stored = {m.student: m for m in s.scalars(select(Mark).where(Mark.session == sid,
                                                                     Mark.student.in_(list(latest))))}
        delta: dict[str, int] = {}
        for student, status in latest.items():
            mark = stored.get(student)
            if mark is None:
                s.add(Mark(session=sid, student=student, status=status, at=at))
            elif mark.at > at:
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
            stmt = insert(Tally).values(changed)
            s.execute(stmt.on_conflict_do_update(index_elements=["session", "status"],
                                                 set_={"n": Tally.n + stmt.excluded.n}))

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

    # -- reading ---------------------------------------------------------------------------------------------
    def _names(self, people: Iterable[str], disciplines: Iterable[str] = ()) -> dict[str, str]:
        """Full names by person code, discipline names under `discipline:<code>`."""
        s = self.db.session
        out: dict[str, str] = {}
        codes = sorted({c for c in people if c})
        if codes:
            out.update(dict(s.execute(select(Person.code, Person.full_name).where(Person.code.in_(codes))).all()))
        dcodes = sorted({c for c in disciplines if c})
        if dcodes:
            out.update({f"discipline:{c}": n for c, n in s.execute(
                select(Discipline.code, Discipline.name).where(Discipline.code.in_(dcodes))).all()})
        return out

    @rpc
    def attendance_report(self, faculty: str | None = None, group: str | None = None,
                          discipline: str | None = None, teacher: str | None = None, date_from: str | None = None,
                          date_to: str | None = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        """Marks per status, attendance rate, excused and made-up shares per group × discipline × teacher
        (RULES.md §8), summed in SQL over the per-session tally."""
        pol = policy()
        filters, errors = domain.parse_filters(faculty, group, discipline, teacher, date_from, date_to)
        if fmt not in domain.FORMATS:
            errors["fmt"] = f"one of {', '.join(domain.FORMATS)}"
        if lang not in LANGUAGES:
            errors["lang"] = f"one of {', '.join(LANGUAGES)}"
        if errors:
            raise ValidationFailed("invalid report filters", errors)
        where, params = ["TRUE"], {}
        for name in ("group", "discipline", "teacher"):
            if getattr(filters, name):
                where.append(f's."{name}" = :{name}')
                params[name] = getattr(filters, name)
        if filters.faculty:
            where.append('s."group" IN (SELECT g.code FROM reports.org_unit g JOIN reports.org_unit d'
                         " ON d.code = g.parent WHERE g.kind = 'group' AND d.parent = :faculty)")
            params["faculty"] = filters.faculty
        if filters.date_from:
            where.append("s.starts_at >= :start")
            params["start"] = datetime.combine(filters.date_from, time(), pol.tz)
        if filters.date_to:
            where.append("s.starts_at < :end")
            params["end"] = datetime.combine(filters.date_to + timedelta(days=1), time(), pol.tz)
        cond = " AND ".join(where)
        s = self.db.session
        counts: dict[tuple[str, str, str], dict[str, int]] = {}
        for g, d, t, status, n in s.execute(text(
                f'SELECT s."group", s.discipline, s.teacher, t.status, sum(t.n)::bigint'
                f" FROM reports.session s JOIN reports.tally t ON t.session = s.id WHERE {cond}"
                f" GROUP BY 1, 2, 3, 4 HAVING sum(t.n) <> 0"), params):
            counts.setdefault((g, d, t), {})[status] = int(n)
        params["now"] = self.db.now()
        held: dict[tuple[str, str, str], int] = {}
        for g, d, t, n in s.execute(text(  # a session counts once it started or has marks
                f'SELECT s."group", s.discipline, s.teacher, count(*) FROM reports.session s WHERE {cond}'
                f" AND (s.starts_at <= :now OR EXISTS (SELECT 1 FROM reports.tally t"
                f" WHERE t.session = s.id AND t.n > 0)) GROUP BY 1, 2, 3"), params):
            held[(g, d, t)] = int(n)
        keys = sorted(set(counts) | set(held))
        names = self._names((k[2] for k in keys), (k[1] for k in keys))
        rows = [domain.report_row(pol, {"group": g, "discipline": d, "teacher": t,
                                        "discipline_name": names.get(f"discipline:{d}"),
                                        "teacher_name": names.get(t)},
                                  held.get((g, d, t), 0), counts.get((g, d, t), {}))
                for g, d, t in keys]
        report = {"filters": filters.wire(), "rows": rows, "totals": domain.totals(pol, rows)}
        if fmt == "json":
            return report
        doc = render.attendance_document(pol, report, lang, names)
        return render.render_table(doc, fmt, f"attendance-{self.db.now().astimezone(pol.tz):%Y-%m-%d}")

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
