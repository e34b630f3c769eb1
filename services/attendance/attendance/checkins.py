"""Recording QR check-ins in batches: the service layer of the check-in intake (`attendance.intake`).

A batch is a handful of statements and one commit however many students it holds: the sessions, the
students' enrolment periods, the archived years and what is already stored are read once, `domain` judges
every request, then one statement stores the check-ins and one the marks they make. Each session touched
gets one `marks.recorded` event for the batch, and each check-in (stored or refused) an audit entry in the
session's chain. Redelivered requests find their check-in stored and are repeats: nothing is written twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import text

from attendance import domain
from kernel.clock import OFFSET_SQL
from kernel.db import UnitOfWork
from kernel.policy import Policy

SESSIONS_SQL = text(f"""
SELECT s.id, s.term, s.discipline, s."group", s.subgroup, s.kind, s.teacher, s.starts_at, s.late, s.first_entry_at,
       {OFFSET_SQL} AS clock_offset
FROM attendance.session s WHERE s.id = ANY(:sessions) ORDER BY s.id
FOR KEY SHARE OF s
""")  # a teacher's write to one of these sessions waits for the batch; other check-ins do not

ENROLMENTS_SQL = text("""
SELECT student, "group", subgroup, starts, ends FROM attendance.enrolment WHERE student = ANY(:students)
""")

STORED_SQL = text("""
SELECT r.session, r.student, c.session IS NOT NULL AS done, m.status AS mark
FROM unnest(CAST(:sessions AS integer[]), CAST(:students AS text[])) AS r(session, student)
LEFT JOIN attendance.checkin c ON c.session = r.session AND c.student = r.student
LEFT JOIN attendance.mark m ON m.session = r.session AND m.student = r.student
""")

CLOSED_SQL = text("SELECT year, starts, ends FROM attendance.closed_year")

STORE_SQL = text("""
WITH r AS (
  SELECT * FROM unnest(CAST(:sessions AS integer[]), CAST(:students AS text[]), CAST(:ats AS timestamptz[]),
                       CAST(:addresses AS text[]), CAST(:devices AS text[])) AS r(session, student, at, address, device)
), c AS (
  INSERT INTO attendance.checkin (session, student, at, address, device)
  SELECT session, student, at, address, device FROM r
  ON CONFLICT DO NOTHING RETURNING session, student, at
), m AS (
  INSERT INTO attendance.mark (session, student, status, source, set_by, set_at)
  SELECT session, student, :status, 'checkin', student, at FROM c
  ON CONFLICT DO NOTHING RETURNING session, student
)
SELECT c.session, c.student, (m.session IS NOT NULL) AS marked
FROM c LEFT JOIN m ON m.session = c.session AND m.student = c.student
""")


def record(uow: UnitOfWork, pol: Policy, requests: Sequence[domain.CheckinRequest]) -> list[domain.CheckinVerdict]:
    """Judge and store a batch of check-ins in `uow` (the caller commits). A verdict per request, in order."""
    if not requests:
        return []
    sessions = {row.id: row for row in uow.execute(SESSIONS_SQL, {"sessions": sorted({r.session for r in requests})})}
    if sessions:
        uow.now_from_offset(next(iter(sessions.values())).clock_offset)
    periods: dict[str, list[domain.Period]] = defaultdict(list)
    for e in uow.execute(ENROLMENTS_SQL, {"students": sorted({r.student for r in requests})}):
        periods[e.student].append(domain.Period(e.group, e.subgroup, e.starts, e.ends))
    stored = {(row.session, row.student): row for row in uow.execute(
        STORED_SQL, {"sessions": [r.session for r in requests], "students": [r.student for r in requests]})}
    closed = [domain.ClosedYear(y.year, _day(y.starts), _day(y.ends)) for y in uow.execute(CLOSED_SQL)]
    verdicts = domain.judge_checkins(pol, requests, sessions, periods,
                                     [key for key, row in stored.items() if row.done], closed)
    accepted = [v.request for v in verdicts if v.outcome == "accepted"]
    written = {}
    if accepted:
        written = {(row.session, row.student): row.marked for row in uow.execute(STORE_SQL, {
            "sessions": [r.session for r in accepted], "students": [r.student for r in accepted],
            "ats": [r.at for r in accepted], "addresses": [r.address for r in accepted],
            "devices": [r.device for r in accepted], "status": domain.PRESENT})}
    changes: dict[int, list[domain.Change]] = defaultdict(list)
    for v in verdicts:
        r = v.request
        key = (r.session, r.student)
        where = f"QR check-in from {r.address or '?'}, device {r.device or '?'}"
        if v.outcome == "refused":
            uow.audit(entity="checkin", entity_id=f"{r.session}:{r.student}", action="refused", actor=r.student,
                      student=r.student, new={"code": v.code, "address": r.address, "device": r.device},
                      reason=f"{v.reason} ({where})", chain=domain.session_chain(r.session) if r.session in sessions
                      else "main")
        elif v.outcome == "accepted" and key in written:
            if written[key]:
                changes[r.session].append(domain.Change(r.student, None, domain.PRESENT))
                uow.audit(entity="mark", entity_id=f"{r.session}:{r.student}", action="checkin", actor=r.student,
                          student=r.student, old=None, new=domain.PRESENT, reason=where,
                          chain=domain.session_chain(r.session))
            else:  # a mark was there already: the teacher's mark wins, the check-in is kept for the record
                uow.audit(entity="checkin", entity_id=f"{r.session}:{r.student}", action="checkin",
                          actor=r.student, student=r.student,
                          new={"address": r.address, "device": r.device, "mark": _mark(stored.get(key))},
                          chain=domain.session_chain(r.session))
    for session_id, session_changes in sorted(changes.items()):
        row = sessions[session_id]
        actor = session_changes[0].student if len(session_changes) == 1 else "checkin"
        uow.emit("marks.recorded", domain.marks_event(pol, row, session_changes, actor=actor, on_behalf_of=None,
                                                source="checkin"), actor=actor)
    return verdicts


def _mark(row: object) -> str | None:
    return getattr(row, "mark", None)


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
