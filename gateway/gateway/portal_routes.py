"""The portal adapters at the HTTP edge (issue 7 item 1; API.md "Loading the year": "the same formats are accepted
as CSV/XLSX exports of AVN/UNIVER+"). An uploaded spreadsheet becomes the JSON body of the matching import and goes
the JSON route's way, to the same service call, so the file and the JSON import cannot disagree: whole-batch
validation, idempotence by code, nothing stored on a bad row. The file's rules are in gateway/portal.py, its
headers in portal_columns.yaml. Statements and attendance go back out in the portal's files, read as the JSON
routes read them (the same access checks: another unit's object is 404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import eventlet
from marshmallow import Schema, fields
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from contracts.identity import ImportResultSchema
from gateway import portal
from gateway.access import Caller
from gateway.auth import OFFICE
from gateway.http import route
from gateway.models import Principal
from gateway.schemas import TimetableResultSchema
from kernel.config import settings
from kernel.errors import ValidationFailed
from kernel.policy import load_preset
from kernel.validation import invalid

portal.mapping()  # a mapping file with an ambiguous alias stops the gateway when it starts, not at a user's upload
IMPORT_TIMEOUT = 300.0
# kind -> the service and RPC behind `POST /api/v1/import/{kind}` (the JSON route of service.py, attendance_routes.py)
IMPORTS = {"contingent": ("identity", "import_contingent"), "load": ("identity", "import_load"),
           "timetable": ("attendance", "import_timetable")}
UPLOADS = (portal.CSV, portal.XLSX)
PORTAL = {"portal": "avn|univer (the column mapping: gateway/gateway/portal_columns.yaml)"}
TERM = {"term": "term code, unless the file has a term column",
        "term_starts": "first day of the term (default: the first session's)",
        "term_ends": "last day of the term (default: the last session's)"}


class PortalFields(Schema):
    """What a file import adds to the JSON import's answer."""

    portal = fields.String(metadata={"description": "the portal whose column mapping read the file"})
    rows = fields.Integer(metadata={"description": "data rows read from the file"})


class PortalImportResultSchema(ImportResultSchema, PortalFields):
    pass


class PortalTimetableResultSchema(TimetableResultSchema, PortalFields):
    pass


EXPORT = {**PORTAL, "lang": "ru|ky|kk|en: the headers' language (default ru)"}


def uploaded(request: Request) -> bytes:
    """The file: the `file` field of a multipart form (or its only file), or the raw body (text/csv, XLSX)."""
    if request.mimetype == "multipart/form-data":
        files = request.files.get("file") or next(iter(request.files.values()), None)
        if files is None:
            raise invalid("file", "send the spreadsheet as the form field `file`")
        return files.read()
    return request.get_data(cache=True)


def _lang(request: Request) -> str:
    lang = request.args.get("lang", "ru")
    if lang not in portal.LANGS:
        raise invalid("lang", f"one of {', '.join(portal.LANGS)}")
    return lang


def _fmt(value: str | None) -> str:
    if value not in ("csv", "xlsx"):
        raise invalid("format", "csv or xlsx")
    return value


def _day(request: Request, name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "a date YYYY-MM-DD") from None


def download(content: bytes, fmt: str, portal_name: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return Response(content, mimetype=portal.media_type(fmt, portal_name), headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"})


class PortalRoutes:
    """Mixed into GatewayService; relies on its `backend`, `db` and the grading mixin's `statement_for`;
    `self.access` (gateway/access.py) says who sees what."""

    # -- imports -----------------------------------------------------------------------------------------------
    def import_file(self, request: Request, caller: Caller, kind: str) -> Any:
        name = portal.portal_of(request.args.get("portal"))
        table = portal.locate(portal.read_rows(uploaded(request)), portal.layout(name, kind))
        if kind == "timetable":
            body, origin = portal.timetable_body(table, load_preset(settings().preset).tz,
                                                 request.args.get("term") or None,
                                                 _day(request, "term_starts"), _day(request, "term_ends"))
        elif kind == "contingent":
            body, origin = portal.contingent_body(table, self.known_student)
        else:
            body, origin = portal.load_body(table)
        service, method = IMPORTS[kind]
        try:
            answer = self.backend(service).call(method, body, caller.code, timeout=IMPORT_TIMEOUT)
        except ValidationFailed as exc:  # the service names `students[3].group`; the user needs row and column
            raise origin.translate(exc) from None
        return {**answer, "portal": name, "rows": len(table.rows)}

    @route("POST", "/api/v1/import/contingent/file", roles=OFFICE, uploads=UPLOADS, params=PORTAL,
           answer=PortalImportResultSchema,
           summary="Import the contingent from an AVN/UNIVER+ spreadsheet (CSV or XLSX), as the JSON import")
    def import_contingent_file(self, request: Request, caller: Caller, body: None) -> Any:
        return self.import_file(request, caller, "contingent")

    @route("POST", "/api/v1/import/load/file", roles=OFFICE, uploads=UPLOADS, params=PORTAL,
           answer=PortalImportResultSchema,
           summary="Import disciplines and the teaching load from an AVN/UNIVER+ spreadsheet, as the JSON import")
    def import_load_file(self, request: Request, caller: Caller, body: None) -> Any:
        return self.import_file(request, caller, "load")

    @route("POST", "/api/v1/import/timetable/file", roles=OFFICE, uploads=UPLOADS, params={**PORTAL, **TERM},
           answer=PortalTimetableResultSchema,
           summary="Import a term's timetable from an AVN/UNIVER+ spreadsheet, as the JSON import")
    def import_timetable_file(self, request: Request, caller: Caller, body: None) -> Any:
        return self.import_file(request, caller, "timetable")

    def known_student(self, code: str) -> dict[str, Any] | None:
        """What the journal knows of a student the file names (the gateway's read model of identity's people)."""
        row = self.db.tx.get(Principal, code)
        return {"login": row.login, "subgroup": row.subgroup} if row is not None and row.kind == "student" else None

    # -- exports -----------------------------------------------------------------------------------------------
    def full_names(self, codes: list[str]) -> dict[str, str]:
        if not codes:
            return {}
        return dict(self.db.tx.execute(select(Principal.code, Principal.full_name)
                                            .where(Principal.code.in_(codes))).tuples().all())

    @route("GET", "/api/v1/export/statements/<int:statement_id>.<fmt>", answer_media=portal.XLSX, params=EXPORT,
           documents=(portal.CSV,),
           summary="A statement as the portal's file (.xlsx or .csv) for upload back; read as the statement is")
    def export_statement(self, request: Request, caller: Caller, body: None, statement_id: int, fmt: str) -> Any:
        fmt = _fmt(fmt)
        name, lang = portal.portal_of(request.args.get("portal")), _lang(request)
        statement = self.statement_for(caller, statement_id)
        letters = {x.letter: x for x in load_preset(settings().preset).grading.letters}
        names = self.full_names([r["student"] for r in statement["rows"]])
        rows = []
        for number, r in enumerate(sorted(statement["rows"], key=lambda r: (names.get(r["student"], ""),
                                                                           r["student"])), start=1):
            letter = letters.get(r.get("letter"))
            rows.append({"number": number, "code": r["student"], "full_name": names.get(r["student"]),
                         "group": statement["group"], "discipline": statement["discipline"],
                         "points": r.get("points"), "letter": r.get("letter"), "grade5": r.get("grade5"),
                         "grade_label": letter.labels.get(lang) if letter else None})
        content = portal.write_table(portal.layout(name, "statement"), rows, fmt, lang)
        return download(content, fmt, name, f"statement-{statement_id}-{name}.{fmt}")

    @route("GET", "/api/v1/export/attendance", answer_media=portal.XLSX, documents=(portal.CSV,),
           params={"group": "group code", "discipline": "discipline code", "from": "first date", "to": "last date",
                   "format": "csv|xlsx (default xlsx)", **EXPORT},
           summary="A group's attendance in a discipline as the portal's file; read as the gradebook is")
    def export_attendance(self, request: Request, caller: Caller, body: None) -> Any:
        group, discipline = self._group_discipline(request)
        fmt = _fmt(request.args.get("format", "xlsx"))
        name, lang = portal.portal_of(request.args.get("portal")), _lang(request)
        date_from, date_to = _day(request, "from"), _day(request, "to")
        only = self.access.gradebook_view(caller, group, discipline)  # another unit's group: 404; a student: own rows
        sessions: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.attendance.call("list_sessions", group=group, discipline=discipline,
                                        date_from=date_from and date_from.isoformat(),
                                        date_to=date_to and date_to.isoformat(), limit=500, cursor=cursor)
            sessions += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        views = list(eventlet.GreenPool(8).imap(lambda s: self.attendance.call("get_session", s["id"], only),
                                                sessions))
        policy = load_preset(settings().preset)
        students = sorted({c for v in views for c in [*v["roster"], *(m["student"] for m in v["marks"])]
                           if only is None or c == only})
        names = self.full_names(students)
        students.sort(key=lambda c: (names.get(c, ""), c))
        rows = []
        for view in views:
            starts = policy.local(datetime.fromisoformat(view["starts_at"]))
            marks = {m["student"]: m for m in view["marks"]}
            for code in students:
                if code not in view["roster"] and code not in marks:
                    continue
                mark = marks.get(code)
                status = mark["status"] if mark else None
                rows.append({"date": starts.date().isoformat(), "time": starts.strftime("%H:%M"),
                             "kind": portal.value_label("kind", view["kind"], lang), "discipline": discipline,
                             "group": group, "code": code, "full_name": names.get(code),
                             "mark": mark["mark"] if mark else None,
                             "status": policy.code(status).labels.get(lang) if status and policy.has_code(status)
                             else status, "topic": view.get("topic")})
        content = portal.write_table(portal.layout(name, "attendance"), rows, fmt, lang)
        return download(content, fmt, name, f"attendance-{group}-{discipline}.{fmt}")
