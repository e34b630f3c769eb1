"""Grades, statements, late corrections and the year archive at the HTTP edge (API.md "Grades, statements,
corrections"). The grading service owns the data and re-checks its invariants (a closed statement refuses
writes whoever asks); here: who may ask, and the institution's windows."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from werkzeug.wrappers import Request

from gateway import windows
from gateway.access import Caller
from gateway.auth import OFFICE
from gateway.http import PDF, XLSX, limit_of, route
from gateway.models import Session
from gateway.projections import PROJECTIONS
from gateway.schemas import (
    AssessmentListSchema,
    AssessmentSchema,
    AssessmentViewSchema,
    ClosedYearSchema,
    CorrectionListSchema,
    CorrectionSchema,
    CorrectionViewSchema,
    GradebookSchema,
    GradesSchema,
    StatementListSchema,
    StatementRequestSchema,
    StatementViewSchema,
    StepSchema,
)
from kernel.config import settings
from kernel.consumer import handles
from kernel.errors import Forbidden, NotFound, ValidationFailed
from kernel.events import Envelope
from kernel.policy import load_preset
from kernel.projections import apply

APPROVERS = ("department_head", "directorate", *OFFICE)  # the late-correction chain (RULES.md §5)
GROUP_PARAMS = {"group": "group code", "discipline": "discipline code"}



class GradingRoutes:
    """Mixed into GatewayService; relies on its `db`, `grading`;
    `self.access` (gateway/access.py) says who sees what."""

    def assessment_for_teacher(self, caller: Caller, assessment_id: int) -> dict[str, Any]:
        assessment = self.grading.call("get_assessment", assessment_id)
        if not self.access.teaches(caller, assessment["group"], assessment["discipline"]):
            if self.access.gradebook_view_or_none(caller, assessment["group"], assessment["discipline"]) is False:
                raise NotFound(f"no assessment {assessment_id}")
            raise Forbidden("only a teacher of this discipline in this group grades it")
        return assessment

    # -- assessments and grades -----------------------------------------------------------------------
    @route("POST", "/api/v1/assessments", summary="Plan an assessment (current work, module, final)",
           roles=("teacher",), body=AssessmentSchema, status=201, answer=AssessmentViewSchema)
    def create_assessment(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        if not self.access.teaches(caller, body["group"], body["discipline"]):
            raise NotFound(f"no discipline {body['discipline']} in your load for {body['group']}")
        payload = {**body, "date": body["date"].isoformat()}
        return self.grading.call("create_assessment", payload, caller.code)

    @route("GET", "/api/v1/assessments", summary="A group's assessments in a discipline", params=GROUP_PARAMS,
           answer=AssessmentListSchema)
    def list_assessments(self, request: Request, caller: Caller, body: None) -> Any:
        group, discipline = self._group_discipline(request)
        self.access.gradebook_view(caller, group, discipline)
        return self.grading.call("list_assessments", group, discipline)

    @route("GET", "/api/v1/assessments/<int:assessment_id>", summary="One assessment with its grades",
           answer=AssessmentViewSchema)
    def get_assessment(self, request: Request, caller: Caller, body: None, assessment_id: int) -> Any:
        assessment = self.grading.call("get_assessment", assessment_id)
        only = self.access.gradebook_view_or_none(caller, assessment["group"], assessment["discipline"])
        if only is False:
            raise NotFound(f"no assessment {assessment_id}")
        if only is not None:
            assessment["grades"] = [g for g in assessment["grades"] if g["student"] == only]
        return assessment

    @route("PUT", "/api/v1/assessments/<int:assessment_id>/grades", summary="Enter grades on the preset's scale",
           roles=("teacher",), body=GradesSchema, answer=AssessmentViewSchema)
    def record_grades(self, request: Request, caller: Caller, body: dict[str, Any], assessment_id: int) -> Any:
        assessment = self.assessment_for_teacher(caller, assessment_id)
        policy = load_preset(settings().preset)
        day = datetime.combine(datetime.fromisoformat(assessment["date"]).date(), time(0), policy.tz)
        entered = [datetime.fromisoformat(g.get("first_entry_at") or g["set_at"]) for g in assessment["grades"]]
        first = min(entered, default=None)
        window = "grade_entry" if assessment["kind"] == "current" else (
            "final_grade_entry" if assessment["kind"] == "final" else "module_grade_entry")
        self.refuse_archived(day.date())
        windows.journal_write(policy, window, day, first, self.db.now(), locked=False)  # statement locks: grading
        return self.grading.call("record_grades", assessment_id, body["grades"], caller.code, role="teacher",
                                 reason=body["reason"])

    @route("GET", "/api/v1/gradebook", summary="Per student: grades, attendance, module points, rating, letter",
           params=GROUP_PARAMS, answer=GradebookSchema)
    def gradebook(self, request: Request, caller: Caller, body: None) -> Any:
        group, discipline = self._group_discipline(request)
        only = self.access.gradebook_view(caller, group, discipline)
        return self.grading.call("gradebook", group, discipline, only)

    @staticmethod
    def _group_discipline(request: Request) -> tuple[str, str]:
        group, discipline = request.args.get("group"), request.args.get("discipline")
        if not group or not discipline:
            raise ValidationFailed("group and discipline are required", {
                k: ["required"] for k, v in (("group", group), ("discipline", discipline)) if not v})
        return group, discipline

    # -- statements ------------------------------------------------------------------------------------
    def statement_for(self, caller: Caller, statement_id: int) -> dict[str, Any]:
        statement = self.grading.call("get_statement", statement_id)
        if self.access.gradebook_view_or_none(caller, statement["group"], statement["discipline"]) is not None:
            raise NotFound(f"no statement {statement_id}")
        return statement

    @route("POST", "/api/v1/statements", summary="Create a statement from the journal (rows computed)",
           roles=("teacher", "academic_office"), body=StatementRequestSchema, status=201, answer=StatementViewSchema)
    def create_statement(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        if not (caller.has("academic_office") or self.access.teaches(caller, body["group"], body["discipline"])):
            raise NotFound(f"no discipline {body['discipline']} in your load for {body['group']}")
        return self.grading.call("create_statement", body["group"], body["discipline"], body["kind"], caller.code)

    @route("POST", "/api/v1/statements/<int:statement_id>/post", summary="Post: the journal data it rests on locks",
           roles=("teacher",), answer=StatementViewSchema)
    def post_statement(self, request: Request, caller: Caller, body: None, statement_id: int) -> Any:
        statement = self.statement_for(caller, statement_id)
        if not self.access.teaches(caller, statement["group"], statement["discipline"]):
            raise Forbidden("the statement is posted by the discipline's teacher")
        return self.grading.call("post_statement", statement_id, caller.code)

    @route("POST", "/api/v1/statements/<int:statement_id>/close",
           summary="Close: only an appeal decision changes it afterwards", roles=("academic_office",),
           answer=StatementViewSchema)
    def close_statement(self, request: Request, caller: Caller, body: None, statement_id: int) -> Any:
        self.statement_for(caller, statement_id)
        return self.grading.call("close_statement", statement_id, caller.code)

    @route("GET", "/api/v1/statements/<int:statement_id>", summary="A statement: json, or its document (pdf, xlsx)",
           params={"format": "json|pdf|xlsx", "lang": "ky|ru|kk|en"}, answer=StatementViewSchema, documents=(PDF, XLSX))
    def get_statement(self, request: Request, caller: Caller, body: None, statement_id: int) -> Any:
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "pdf", "xlsx"):
            raise ValidationFailed("format: json, pdf or xlsx", {"format": ["json, pdf or xlsx"]})
        statement = self.statement_for(caller, statement_id)
        return statement if fmt == "json" else self.statement_document(request, statement, fmt)

    @route("GET", "/api/v1/statements", summary="Statements of a group", params={**GROUP_PARAMS, "state": "state"},
           answer=StatementListSchema)
    def list_statements(self, request: Request, caller: Caller, body: None) -> Any:
        group, discipline = self._group_discipline(request)
        if self.access.gradebook_view(caller, group, discipline) is not None:
            raise NotFound("statements are for teachers and office roles")
        return self.grading.call("list_statements", group, discipline, request.args.get("state"))

    # -- late corrections ------------------------------------------------------------------------------
    def target_group(self, target: dict[str, Any]) -> tuple[str, str]:
        if target["kind"] == "attendance":
            if target.get("session") is None:
                raise ValidationFailed("target.session is required", {"target.session": ["required"]})
            s = self.db.tx.get(Session, target["session"])
            if s is None:
                raise NotFound(f"no session {target['session']}")
            return s.group, s.discipline
        if target.get("assessment") is None:
            raise ValidationFailed("target.assessment is required", {"target.assessment": ["required"]})
        a = self.grading.call("get_assessment", target["assessment"])
        return a["group"], a["discipline"]

    @route("POST", "/api/v1/corrections", summary="Request a late correction (after the self-correction window)",
           roles=("teacher",), body=CorrectionSchema, status=201, answer=CorrectionViewSchema)
    def create_correction(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        group, discipline = self.target_group(body["target"])
        if body["target"]["kind"] == "attendance":
            s = self.db.tx.get(Session, body["target"]["session"])
            if s is None or not self.access.teaching(caller, s)[0]:
                raise NotFound(f"no session {body['target']['session']}")
        elif not self.access.teaches(caller, group, discipline):
            raise NotFound(f"no assessment {body['target']['assessment']}")
        return self.grading.call("create_correction", body["target"], body["value"], body["reason"], caller.code,
                                 group=group)

    def _step(self, caller: Caller, correction_id: int, action: str, note: str | None) -> Any:
        correction = self.grading.call("get_correction", correction_id)
        group, _ = self.target_group(correction["target"])
        roles = self.access.scoped_roles(caller, group)
        if not any(r != "teacher" for r, _ in roles):
            raise NotFound(f"no correction {correction_id}")
        return self.grading.call("correction_step", correction_id, action, caller.code, roles, note)

    @route("POST", "/api/v1/corrections/<int:correction_id>/visa", summary="Department head's visa",
           roles=("department_head",), body=StepSchema, answer=CorrectionViewSchema)
    def correction_visa(self, request: Request, caller: Caller, body: dict[str, Any], correction_id: int) -> Any:
        return self._step(caller, correction_id, "visa", body["note"])

    @route("POST", "/api/v1/corrections/<int:correction_id>/approve", summary="Academic office's approval",
           roles=("academic_office", "directorate"), body=StepSchema, answer=CorrectionViewSchema)
    def correction_approve(self, request: Request, caller: Caller, body: dict[str, Any], correction_id: int) -> Any:
        return self._step(caller, correction_id, "approve", body["note"])

    @route("POST", "/api/v1/corrections/<int:correction_id>/execute", summary="IT admin applies it, audited",
           roles=("it_admin",), body=StepSchema, answer=CorrectionViewSchema)
    def correction_execute(self, request: Request, caller: Caller, body: dict[str, Any], correction_id: int) -> Any:
        return self._step(caller, correction_id, "execute", body["note"])

    @route("POST", "/api/v1/corrections/<int:correction_id>/reject", summary="Any approver of the chain rejects",
           roles=APPROVERS, body=StepSchema, answer=CorrectionViewSchema)
    def correction_reject(self, request: Request, caller: Caller, body: dict[str, Any], correction_id: int) -> Any:
        return self._step(caller, correction_id, "reject", body["note"])

    @route("GET", "/api/v1/corrections", summary="Each approver's queue; a teacher's own requests",
           params={"state": "pending|executed|rejected", "limit": "at most 500", "cursor": "from next_cursor"},
           answer=CorrectionListSchema)
    def list_corrections(self, request: Request, caller: Caller, body: None) -> Any:
        page = {"state": request.args.get("state"), "limit": limit_of(request), "cursor": request.args.get("cursor")}
        reach = [[role, None if role in OFFICE else self.access.groups_overseen(caller, role)]
                 for role in sorted({r for r, _ in caller.roles}) if role in APPROVERS]
        if reach or caller.has("teacher"):
            return self.grading.call("list_corrections", reach=reach,
                                     requested_by=caller.code if caller.has("teacher") else None, **page)
        raise Forbidden("corrections are for teachers and their approvers")

    @route("POST", "/api/v1/years/<year>/close", summary="Archive an academic year (read-only afterwards)",
           roles=("academic_office",), answer=ClosedYearSchema)
    def close_year(self, request: Request, caller: Caller, body: None, year: str) -> Any:
        return self.grading.call("close_year", year, caller.code)

    # -- statement locks and archived years, from grading's events (gateway/projections.py) ----------------
    @handles("grading", "statement.posted")
    def on_statement_posted(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("grading", "statement.closed")
    def on_statement_closed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("grading", "year.closed")
    def on_year_closed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)
