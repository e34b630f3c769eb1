"""Reports and documents at the HTTP edge (API.md "Reports and audit"). The reports service builds them from
its event-fed read models; here: who may ask, and turning a document into a download."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from marshmallow import Schema, ValidationError
from werkzeug.wrappers import Request, Response

from gateway.access import Caller, report_scopes
from gateway.auth import OFFICE
from gateway.http import CSV, PDF, XLSX, route, schema_of
from gateway.models import Principal
from gateway.report_schemas import (
    AtRiskQuerySchema,
    AtRiskReportSchema,
    FillingQuerySchema,
    FillingReportSchema,
    RecordQuerySchema,
    ScheduledListQuerySchema,
    ScheduledListSchema,
    ScheduledQuerySchema,
    ScheduledReportSchema,
    StudentRecordSchema,
    TeacherJournalSchema,
)
from gateway.schemas import AttendanceReportSchema
from kernel.errors import Forbidden, NotFound, ValidationFailed
from kernel.validation import flatten_marshmallow

LANGS = ("ky", "ru", "kk", "en")


def document(answer: dict[str, Any]) -> Response:
    return Response(base64.b64decode(answer["content_b64"]), mimetype=answer["media_type"],
                    headers={"Content-Disposition": f'attachment; filename="{answer["filename"]}"'})


def language(request: Request, default: str = "ru") -> str:
    lang = request.args.get("lang") or request.accept_languages.best_match(LANGS) or default
    if lang not in LANGS:
        raise ValidationFailed(f"lang: one of {', '.join(LANGS)}", {"lang": [f"one of {', '.join(LANGS)}"]})
    return lang


def query(request: Request, schema: type[Schema]) -> dict[str, Any]:
    """The query parameters through a schema: a bad or unknown one is a 422 naming it, before anything is asked."""
    try:
        return schema_of(schema).load(request.args.to_dict())
    except ValidationError as exc:
        flat = flatten_marshmallow(exc.messages)
        first = next(iter(flat.items()))
        raise ValidationFailed(f"{first[0]}: {first[1][0]}", flat) from None


class ReportsRoutes:
    """Mixed into GatewayService; relies on its `reports`, `grading`;
    `self.access` (gateway/access.py) says who sees what."""

    @route("GET", "/api/v1/reports/attendance", summary="Attendance report (json, csv, xlsx, pdf)",
           params={"faculty": "faculty", "group": "group", "discipline": "discipline", "teacher": "teacher",
                   "from": "first date", "to": "last date", "format": "json|csv|xlsx|pdf", "lang": "ky|ru|kk|en"},
           answer=AttendanceReportSchema, documents=(CSV, XLSX, PDF))
    def attendance_report(self, request: Request, caller: Caller, body: None) -> Any:
        q = request.args
        args: dict[str, Any] = {"faculty": q.get("faculty"), "group": q.get("group"),
                                "discipline": q.get("discipline"), "teacher": q.get("teacher"),
                                "date_from": q.get("from"), "date_to": q.get("to"), "fmt": q.get("format", "json"),
                                "lang": language(request)}
        directorates = [s for r, s in caller.roles if r == "directorate"]
        if caller.has_any(OFFICE):
            pass
        elif args["group"] and self.access.oversees_group(caller, args["group"]):
            pass
        elif directorates:  # the dean's office reads its own faculty (RULES.md §8); another's is not there for it
            if args["group"]:
                raise NotFound(f"no group {args['group']}")
            if args["faculty"] not in (None, *directorates):
                raise NotFound(f"no faculty {args['faculty']}")
            args["faculty"] = args["faculty"] or directorates[0]
        elif caller.has("teacher"):
            args["teacher"] = caller.code  # a teacher reads their own sessions
        else:
            raise Forbidden("the attendance report is for office roles, curators and teachers")
        answer = self.reports.call("attendance_report", timeout=60, **args)
        return answer if args["fmt"] == "json" else document(answer)

    def statement_document(self, request: Request, statement: dict[str, Any], fmt: str) -> Response:
        verify = f"{request.host_url.rstrip('/')}/api/v1/statements/{statement['id']}"
        return document(self.reports.call("render_statement", statement, fmt, language(request), verify,
                                          timeout=60))

    # -- who may inspect whom --------------------------------------------------------------------------------
    def journal_url(self, request: Request, teacher: str, term: str) -> str:
        return f"{request.host_url.rstrip('/')}/api/v1/journal/{quote(teacher, safe='')}/{quote(term, safe='')}"

    # -- the journal-filling report (Appendix No. 1) and the journal its QR code opens --------------------------
    @route("GET", "/api/v1/reports/filling", summary="Journal-filling report of a teacher and term (Appendix No. 1)",
           roles=("teacher", "department_head", "directorate", *OFFICE), answer=FillingReportSchema, documents=(PDF,),
           params={"teacher": "teacher code (a teacher: self)", "term": "term code", "format": "json|pdf",
                   "lang": "ky|ru|kk|en (default ky)"})
    def filling_report(self, request: Request, caller: Caller, body: None) -> Any:
        q = query(request, FillingQuerySchema)
        teacher = q.get("teacher") or caller.code
        if not (teacher == caller.code and caller.has("teacher")) and not self.access.inspects_teacher(caller, teacher):
            raise NotFound(f"no teacher {teacher}")
        answer = self.reports.call("filling_report", teacher, q["term"], q["format"], language(request, "ky"),
                                   self.journal_url(request, teacher, q["term"]), timeout=60)
        return answer if q["format"] == "json" else document(answer)

    @route("GET", "/api/v1/journal/<teacher>/<term>",
           summary="A teacher's journal for a term, for an inspector (the QR code of Appendix No. 1)",
           answer=TeacherJournalSchema)
    def teacher_journal(self, request: Request, caller: Caller, body: None, teacher: str, term: str) -> Any:
        if not self.access.inspects_teacher(caller, teacher):
            raise NotFound(f"no journal of {teacher} for {term}")
        return self.reports.call("teacher_journal", teacher, term, timeout=60)

    # -- the student record ----------------------------------------------------------------------------------
    @route("GET", "/api/v1/students/<code>/record", summary="Everything the journal holds on one student",
           answer=StudentRecordSchema, params={"lang": "ky|ru|kk|en"})
    def student_record(self, request: Request, caller: Caller, body: None, code: str) -> Any:
        query(request, RecordQuerySchema)
        row = self.db.tx.get(Principal, code)
        allowed = row is not None and row.kind == "student" and (
            (caller.has("student") and caller.code == code)
            or (caller.has("parent") and code in caller.children)
            or (row.group is not None and self.access.oversees_group(caller, row.group)))
        if not allowed:  # API.md: an object the caller may not see answers 404, like one that does not exist
            raise NotFound(f"no student {code}")
        return self.reports.call("student_record", code, language(request), timeout=60)

    # -- the at-risk forecast --------------------------------------------------------------------------------
    @route("GET", "/api/v1/reports/at-risk", summary="Students at risk: low attendance or a projected fail",
           answer=AtRiskReportSchema, documents=(CSV, XLSX, PDF),
           params={"faculty": "faculty code", "group": "group code", "format": "json|csv|xlsx|pdf",
                   "lang": "ky|ru|kk|en"})
    def at_risk_report(self, request: Request, caller: Caller, body: None) -> Any:
        q = query(request, AtRiskQuerySchema)
        faculty, group = q.get("faculty"), q.get("group")
        directorates = [sc for r, sc in caller.roles if r == "directorate"]
        curated = [sc for r, sc in caller.roles if r == "curator"]
        if caller.has_any(OFFICE):
            pass
        elif group and self.access.oversees_group(caller, group):
            pass
        elif directorates or curated:  # per faculty for the directorate, per group for the curator
            if group:  # another unit's group is not there for them (as in the attendance report)
                raise NotFound(f"no group {group}")
            if faculty not in (None, *directorates):
                raise NotFound(f"no faculty {faculty}")
            if directorates:
                faculty = faculty or directorates[0]
            else:
                group = curated[0]
        else:
            raise Forbidden("the at-risk list is for office roles, the directorate and curators (their own units)")
        answer = self.reports.call("at_risk", faculty, group, q["format"], language(request), timeout=60)
        return answer if q["format"] == "json" else document(answer)

    # -- scheduled reports -----------------------------------------------------------------------------------
    @route("GET", "/api/v1/reports/scheduled", summary="Reports generated at the preset's cadence",
           answer=ScheduledListSchema,
           params={"report": "attendance|quality|filling_check|filling_report|contact_list", "limit": "at most 500",
                   "cursor": "from next_cursor"})
    def scheduled_reports(self, request: Request, caller: Caller, body: None) -> Any:
        q = query(request, ScheduledListQuerySchema)
        return self.reports.call("list_scheduled", report_scopes(caller), q.get("report"), q["limit"],
                                 q.get("cursor"))

    @route("GET", "/api/v1/reports/scheduled/<int:report_id>", summary="One scheduled report: json or a document",
           answer=ScheduledReportSchema, documents=(CSV, XLSX, PDF),
           params={"format": "json|csv|xlsx|pdf", "lang": "ky|ru|kk|en"})
    def scheduled_report(self, request: Request, caller: Caller, body: None, report_id: int) -> Any:
        q = query(request, ScheduledQuerySchema)
        answer = self.reports.call("get_scheduled", report_id, report_scopes(caller), q["format"],
                                   language(request), timeout=60)
        return answer if q["format"] == "json" else document(answer)
