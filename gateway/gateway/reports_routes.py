"""Reports and documents at the HTTP edge (API.md "Reports and audit"). The reports service builds them from
its event-fed read models; here: who may ask, and turning a document into a download."""

from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.http import route
from kernel.errors import Forbidden, NotFound, ValidationFailed

LANGS = ("ky", "ru", "kk", "en")


def document(answer: dict[str, Any]) -> Response:
    return Response(base64.b64decode(answer["content_b64"]), mimetype=answer["media_type"],
                    headers={"Content-Disposition": f'attachment; filename="{answer["filename"]}"'})


def language(request: Request) -> str:
    lang = request.args.get("lang") or request.accept_languages.best_match(LANGS) or "ru"
    if lang not in LANGS:
        raise ValidationFailed(f"lang: one of {', '.join(LANGS)}", {"lang": [f"one of {', '.join(LANGS)}"]})
    return lang


class ReportsRoutes:
    """Mixed into GatewayService; relies on its `reports`, `grading` and the other mixins' access helpers."""

    @route("GET", "/api/v1/reports/attendance", summary="Attendance report (json, csv, xlsx, pdf)",
           params={"faculty": "faculty", "group": "group", "discipline": "discipline", "teacher": "teacher",
                   "from": "first date", "to": "last date", "format": "json|csv|xlsx|pdf", "lang": "ky|ru|kk|en"})
    def attendance_report(self, request: Request, caller: Any, body: None) -> Any:
        q = request.args
        args: dict[str, Any] = {"faculty": q.get("faculty"), "group": q.get("group"),
                                "discipline": q.get("discipline"), "teacher": q.get("teacher"),
                                "date_from": q.get("from"), "date_to": q.get("to"), "fmt": q.get("format", "json"),
                                "lang": language(request)}
        directorates = [s for r, s in caller.roles if r == "directorate"]
        if any(caller.has(r) for r in ("it_admin", "academic_office")):
            pass
        elif args["group"] and self.oversees_group(caller, args["group"]):
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
