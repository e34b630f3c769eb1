"""Attendance at the HTTP edge (API.md "Attendance"): who may see or write a session, the institution's
windows, the rotating QR codes and the check-in page. The attendance service owns the data."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import segno
from sqlalchemy import or_, select
from werkzeug.wrappers import Request, Response

from contracts.attendance import CheckinRequest, TimetableSchema
from gateway import checkin, web_routes, windows
from gateway.access import Caller
from gateway.auth import OFFICE
from gateway.http import http, limit_of, route
from gateway.models import ClosedYear, Principal, Session, StatementLock
from gateway.projections import PROJECTIONS
from gateway.schemas import (
    CheckinAnswerSchema,
    CheckinCodeSchema,
    CheckinSchema,
    DecisionSchema,
    ExcuseListSchema,
    ExcuseSchema,
    ExcuseViewSchema,
    LiveRosterSchema,
    MarksSchema,
    PlanSchema,
    SessionListSchema,
    SessionSchema,
    TimetableResultSchema,
    TopicSchema,
)
from kernel import checkin as checkin_rules
from kernel.cache import Memo
from kernel.commands import CHECKIN, CommandSender
from kernel.config import settings
from kernel.consumer import handles
from kernel.errors import Conflict, Forbidden, Locked, NotFound, ValidationFailed, WindowClosed
from kernel.events import Envelope
from kernel.policy import CHECKIN as CHECKIN_ROLE
from kernel.policy import load_preset
from kernel.projections import apply
from kernel.roster import Period

# how long the check-in's view of a session or of the archived years may lag the events (attendance re-checks)
CHECKIN_FACTS_TTL_S = 30.0
PAGE = web_routes.FILES["checkin.html"][0]  # assembled in its frame like every page
SESSION_PARAMS = {"group": "group code", "discipline": "discipline code", "teacher": "teacher code",
                  "from": "first date", "to": "last date", "student": "a student (parents: which child)",
                  "limit": "at most 500", "cursor": "from next_cursor"}


class AttendanceRoutes:
    """Mixed into GatewayService; relies on its `db`, `attendance`;
    `self.access` (gateway/access.py) says who sees what."""

    send_checkin = CommandSender(CHECKIN)
    recent_checkins = Memo(ttl=3 * 3600)  # (session, student) this process accepted: a repeat scan is answered here
    checkin_facts = Memo(ttl=CHECKIN_FACTS_TTL_S)  # sessions and archived years, as the check-in needs them

    # -- access -----------------------------------------------------------------------------------
    def session_row(self, session_id: int) -> Session:
        row = self.db.tx.get(Session, session_id)
        if row is None:
            raise NotFound(f"no session {session_id}")
        return row

    def writable_session(self, caller: Caller, session_id: int) -> tuple[Session, str | None]:
        s = self.session_row(session_id)
        may, on_behalf_of = self.access.teaching(caller, s)
        if not may:
            if self.access.visible_student(caller, s) is False:
                raise NotFound(f"no session {session_id}")
            raise Forbidden("only the session's teacher or an active substitute writes its journal")
        return s, on_behalf_of

    def write_window(self, s: Session) -> str:
        policy = load_preset(settings().preset)
        self.refuse_archived(policy.local(s.starts_at).date())
        locked = self.db.tx.scalars(select(StatementLock).where(
            StatementLock.group == s.group, StatementLock.discipline == s.discipline,
            or_(StatementLock.covers_until.is_(None), StatementLock.covers_until >= s.starts_at))).first()
        return windows.attendance_write(policy, s.starts_at, s.first_entry_at, self.db.now(), locked is not None)

    def window_state(self, s: Session) -> str:
        """What a write to this session's journal would meet now, for the journal grid to show before the
        teacher types: on_time, late, closed (the correction chain is the way), locked, not_started."""
        try:
            return self.write_window(s)
        except WindowClosed:
            return "closed"
        except Locked:
            return "locked"
        except Conflict:
            return "not_started"

    def refuse_archived(self, day: date) -> None:
        year = self.db.tx.scalars(select(ClosedYear).where(ClosedYear.starts <= day,
                                                                ClosedYear.ends >= day)).first()
        if year is not None:
            raise Locked(f"the academic year {year.year} is archived; only an appeal commission changes it")

    def note_entry(self, s: Session, view: dict[str, Any]) -> None:
        if s.first_entry_at is None and view.get("first_entry_at"):
            s.first_entry_at = datetime.fromisoformat(view["first_entry_at"])
            self.db.commit()

    # -- timetable and sessions ---------------------------------------------------------------------
    @route("POST", "/api/v1/import/timetable", summary="Import a term's timetable (sessions exist only from it)",
           roles=OFFICE, body=TimetableSchema, answer=TimetableResultSchema)
    def import_timetable(self, request: Request, caller: Caller, body: None) -> Any:
        data = json.loads(request.get_data() or b"null")
        if not isinstance(data, dict):
            raise ValidationFailed("the body must be a JSON object", {"_body": ["must be a JSON object"]})
        return self.attendance.call("import_timetable", data, caller.code, timeout=300)

    @route("GET", "/api/v1/sessions", summary="Sessions the caller may see", answer=SessionListSchema,
           params=SESSION_PARAMS)
    def list_sessions(self, request: Request, caller: Caller, body: None) -> Any:
        q = request.args
        limit = limit_of(request)
        args: dict[str, Any] = {"group": q.get("group"), "discipline": q.get("discipline"),
                                "teacher": q.get("teacher"), "date_from": q.get("from"), "date_to": q.get("to"),
                                "limit": limit, "cursor": q.get("cursor"), "student": None}
        if caller.has_any(OFFICE):
            pass
        elif args["group"] and self.access.oversees_group(caller, args["group"]):
            pass
        elif caller.has("teacher"):
            args["teacher"] = caller.code
        elif caller.has("student"):
            args["student"] = caller.code
        elif caller.has("parent") and caller.children:
            wanted = q.get("student") or caller.children[0]
            if wanted not in caller.children:
                raise NotFound(f"no student {wanted}")
            args["student"] = wanted
        else:
            raise Forbidden("name a group you oversee")
        return self.attendance.call("list_sessions", **args)

    @route("GET", "/api/v1/sessions/<int:session_id>", summary="One session with its marks",
           answer=SessionSchema)
    def get_session(self, request: Request, caller: Caller, body: None, session_id: int) -> Any:
        s = self.session_row(session_id)
        only = self.access.visible_student(caller, s)
        if only is False:
            raise NotFound(f"no session {session_id}")
        view = self.attendance.call("get_session", session_id, only)
        if only is None and self.access.teaching(caller, s)[0]:
            view["window"] = self.window_state(s)
        return view

    @route("PUT", "/api/v1/sessions/<int:session_id>/plan", summary="Planned topic (calendar-thematic plan)",
           roles=("teacher",), body=PlanSchema, answer=SessionSchema)
    def set_plan(self, request: Request, caller: Caller, body: dict[str, Any], session_id: int) -> Any:
        s, _ = self.writable_session(caller, session_id)
        view = self.attendance.call("set_plan", session_id, body["planned_topic"], caller.code)
        view["window"] = self.window_state(s)  # the answer is the session as the teacher reads it (API.md)
        return view

    @route("PUT", "/api/v1/sessions/<int:session_id>/topic", summary="Record the topic and kind of work",
           roles=("teacher",), body=TopicSchema, answer=SessionSchema)
    def set_topic(self, request: Request, caller: Caller, body: dict[str, Any], session_id: int) -> Any:
        s, on_behalf_of = self.writable_session(caller, session_id)
        self.write_window(s)
        view = self.attendance.call("set_topic", session_id, body["topic"], body["work_kind"], caller.code,
                                    on_behalf_of)
        view["window"] = self.window_state(s)
        return view

    @route("PUT", "/api/v1/sessions/<int:session_id>/attendance", summary="Record attendance marks in bulk",
           roles=("teacher",), body=MarksSchema, answer=SessionSchema)
    def record_marks(self, request: Request, caller: Caller, body: dict[str, Any], session_id: int) -> Any:
        s, on_behalf_of = self.writable_session(caller, session_id)
        self.write_window(s)
        view = self.attendance.call("record_marks", session_id, body["marks"], caller.code, role="teacher",
                                    on_behalf_of=on_behalf_of, reason=body["reason"])
        self.note_entry(s, view)
        view["window"] = self.window_state(s)
        return view

    @route("GET", "/api/v1/sessions/<int:session_id>/roster",
           summary="Live roster: marks, check-ins, devices shared by several students", answer=LiveRosterSchema)
    def live_roster(self, request: Request, caller: Caller, body: None, session_id: int) -> Any:
        s = self.session_row(session_id)
        if not (self.access.teaching(caller, s)[0] or self.access.oversees_group(caller, s.group)):
            raise NotFound(f"no session {session_id}")
        return self.attendance.call("live_roster", session_id)

    # -- QR check-in ---------------------------------------------------------------------------------
    def _code(self, request: Request, caller: Caller, session_id: int) -> dict[str, Any]:
        s, _ = self.writable_session(caller, session_id)
        self.checkin_facts.put(session_id, self.facts_of(s))  # the scans of this code find the session here
        policy = load_preset(settings().preset)
        if not policy.checkin.enabled:
            raise Forbidden("QR check-in is not used at this institution")
        token, expires = checkin.issue(settings().jwt_secret, session_id, self.db.now(),
                                       policy.checkin.token_ttl_seconds)
        url = f"{request.host_url.rstrip('/')}/checkin?t={token}"
        return {"token": token, "url": url,
                "expires_at": datetime.fromtimestamp(expires, UTC).astimezone(policy.tz).isoformat()}

    @route("POST", "/api/v1/sessions/<int:session_id>/checkin-codes", summary="A fresh short-lived check-in code",
           roles=("teacher",), answer=CheckinCodeSchema)
    def checkin_code(self, request: Request, caller: Caller, body: None, session_id: int) -> Any:
        return self._code(request, caller, session_id)

    @route("GET", "/api/v1/sessions/<int:session_id>/checkin-codes/qr.svg", summary="The current code as a QR image",
           roles=("teacher",), answer_media="image/svg+xml")
    def checkin_qr(self, request: Request, caller: Caller, body: None, session_id: int) -> Any:
        code = self._code(request, caller, session_id)
        out = io.BytesIO()
        segno.make(code["url"], error="m").save(out, kind="svg", scale=8, border=2)
        return Response(out.getvalue(), mimetype="image/svg+xml",
                        headers={"Cache-Control": "no-store", "X-Checkin-Expires": code["expires_at"]})

    @route("POST", "/api/v1/checkin", summary="A student checks in with a scanned code", roles=("student",),
           body=CheckinSchema, answer=CheckinAnswerSchema, authenticate="authenticate_student",
           errors={"410": "token_expired: the scanned code has expired"})
    def checkin(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        """The burst's hot path (issue 3): no RPC, and no database unless a cache is cold. The caller comes
        from the access token, the code, the roster, the window, the network and the archived years are checked
        here from the token and the read model; the check-in then goes to the attendance service
        through its command queue, confirmed by the broker before the answer, and is recorded there in batches
        (attendance.intake), which re-checks the roster against the enrolment orders."""
        policy = load_preset(settings().preset)
        now = self.db.now()
        session_id = checkin.read(settings().jwt_secret, body["token"], now, policy.checkin.grace_seconds)
        answer = {"session": session_id, "student": caller.code, "status": checkin_rules.PRESENT, "already": True}
        if (session_id, caller.code) in self.recent_checkins:
            return answer
        s = self.checkin_facts.get(session_id, lambda: self.session_facts(session_id))
        if s is None:
            raise NotFound(f"no session {session_id}")
        closed = self.checkin_facts.get("closed", lambda: [
            checkin_rules.ClosedYear(y.year, y.starts, y.ends) for y in self.db.tx.scalars(select(ClosedYear))])
        lock = checkin_rules.year_lock(closed, policy.local(s.starts_at).date(), role=CHECKIN_ROLE)
        if lock:
            raise Locked(lock)
        roster = [Period(caller.group, caller.subgroup, date.min, None)] if caller.group else []
        address = request.remote_addr or None
        checkin_rules.check_checkin(policy, roster, s.group, s.subgroup, s.starts_at, now, address)
        device = body["device"] or request.headers.get("User-Agent", "")[:200] or None
        request_id = uuid.uuid4().hex
        self.send_checkin(CheckinRequest(request_id, session_id, caller.code, now, address, device).to_wire(),
                          request_id)
        self.recent_checkins.put((session_id, caller.code), True)
        return {**answer, "already": False}

    def session_facts(self, session_id: int) -> Any:
        row = self.db.tx.get(Session, session_id)
        return None if row is None else self.facts_of(row)

    @staticmethod
    def facts_of(row: Session) -> Any:
        return SimpleNamespace(group=row.group, subgroup=row.subgroup, starts_at=row.starts_at)

    @http("GET", "/checkin")
    def checkin_page(self, request: Request) -> Response:
        return Response(PAGE, mimetype="text/html", headers={"Cache-Control": "no-store"})

    # -- excuses -------------------------------------------------------------------------------------
    @route("POST", "/api/v1/excuses", summary="File an excuse (student for self, or the directorate)",
           roles=("student", "directorate"), body=ExcuseSchema, status=201, answer=ExcuseViewSchema)
    def file_excuse(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        faculty = self.access.student_faculty(body["student"])
        if caller.has("directorate", faculty):
            role = "directorate"
        elif caller.has("student") and body["student"] == caller.code:
            role = "student"
        else:
            raise NotFound(f"no student {body['student']}")
        payload = {"student": body["student"], "from": body["from_"].isoformat(), "to": body["to"].isoformat(),
                   "kind": body["kind"], "document": body["document"]}
        return self.attendance.call("file_excuse", payload, caller.code, role)

    @route("POST", "/api/v1/excuses/<int:excuse_id>/decision", summary="The directorate decides an excuse",
           roles=("directorate",), body=DecisionSchema, answer=ExcuseViewSchema)
    def decide_excuse(self, request: Request, caller: Caller, body: dict[str, Any], excuse_id: int) -> Any:
        excuse = self.attendance.call("get_excuse", excuse_id)
        if not caller.has("directorate", self.access.student_faculty(excuse["student"])):
            raise NotFound(f"no excuse {excuse_id}")
        return self.attendance.call("decide_excuse", excuse_id, body["approve"], body["note"], caller.code)

    @route("GET", "/api/v1/excuses", summary="Excuses: the directorate's queue, a student's own",
           roles=("student", "directorate", "parent", *OFFICE), params={"state": "pending|approved|rejected"},
           answer=ExcuseListSchema)
    def list_excuses(self, request: Request, caller: Caller, body: None) -> Any:
        students: list[str] | None
        if caller.has_any(OFFICE):
            students = None
        elif caller.has("directorate"):
            faculties = {s for r, s in caller.roles if r == "directorate"}
            rows = self.db.tx.scalars(select(Principal).where(Principal.kind == "student"))
            students = [p.code for p in rows if self.access.faculty_of_group(p.group) in faculties]
        elif caller.has("student"):
            students = [caller.code]
        else:
            students = list(caller.children)
        return self.attendance.call("list_excuses", state=request.args.get("state"), students=students,
                                    limit=limit_of(request),
                                    cursor=request.args.get("cursor"))

    # -- the session read model, from attendance's events -----------------------------------------------
    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)
