"""Make-up (отработка), disputes and appeals at the HTTP edge (API.md "Make-up and appeals"; RULES.md §6, §7).
The makeup service owns the workflows and their deadlines; here: who may ask."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.access import Caller
from gateway.auth import OFFICE
from gateway.http import limit_of, route
from gateway.models import Principal
from gateway.projections import PROJECTIONS
from gateway.schemas import (
    AppealDecisionSchema,
    AppealListSchema,
    AppealSchema,
    AppealViewSchema,
    CommissionSchema,
    CommissionViewSchema,
    DisputeSchema,
    DisputeViewSchema,
    ExtensionSchema,
    MakeupAssignSchema,
    MakeupCompleteSchema,
    MakeupListSchema,
    MakeupRegisterSchema,
    MakeupRequestSchema,
    MakeupViewSchema,
    ResolveSchema,
)
from kernel.consumer import handles
from kernel.errors import Forbidden, NotFound, ValidationFailed
from kernel.events import Envelope
from kernel.projections import apply


class MakeupRoutes:
    """Mixed into GatewayService; relies on its `db`, `makeup`, `grading`;
    `self.access` (gateway/access.py) says who sees what."""

    def makeup_for_teacher(self, caller: Caller, makeup_id: int) -> dict[str, Any]:
        m = self.makeup.call("get_makeup", makeup_id)
        s = self.session_row(m["session"])
        if not self.access.teaching(caller, s)[0]:
            raise NotFound(f"no make-up {makeup_id}")
        return m

    @route("POST", "/api/v1/makeups", summary="Request a make-up of an absence (student: own; or the teacher)",
           roles=("student", "teacher"), body=MakeupRequestSchema, status=201, answer=MakeupViewSchema)
    def request_makeup(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        s = self.session_row(body["session"])
        if self.access.teaching(caller, s)[0]:
            role = "teacher"
        elif caller.has("student") and body["student"] == caller.code and caller.group == s.group:
            role = "student"
        else:
            raise NotFound(f"no session {body['session']}")
        return self.makeup.call("request_makeup", body["session"], body["student"], caller.code, role)

    @route("POST", "/api/v1/makeups/<int:makeup_id>/assign", summary="Assign the make-up task",
           roles=("teacher",), body=MakeupAssignSchema, answer=MakeupViewSchema)
    def assign_makeup(self, request: Request, caller: Caller, body: dict[str, Any], makeup_id: int) -> Any:
        self.makeup_for_teacher(caller, makeup_id)
        return self.makeup.call("assign_makeup", makeup_id, body["task_kind"], body["topic"], body["due"].isoformat(),
                                caller.code)

    @route("POST", "/api/v1/makeups/<int:makeup_id>/complete",
           summary="Accept the make-up: the mark becomes made_up, the result counts", roles=("teacher",),
           body=MakeupCompleteSchema, answer=MakeupViewSchema)
    def complete_makeup(self, request: Request, caller: Caller, body: dict[str, Any], makeup_id: int) -> Any:
        self.makeup_for_teacher(caller, makeup_id)
        return self.makeup.call("complete_makeup", makeup_id, body["result"], body["comment"], caller.code)

    @route("POST", "/api/v1/makeups/<int:makeup_id>/extend",
           summary="Extend the deadline: the department head, then the directorate", roles=("department_head",
                                                                                              "directorate"),
           body=ExtensionSchema, answer=MakeupViewSchema)
    def extend_makeup(self, request: Request, caller: Caller, body: dict[str, Any], makeup_id: int) -> Any:
        m = self.makeup.call("get_makeup", makeup_id)
        group = m["group"]
        if caller.has("department_head", self.access.department_of_group(group)):
            role = "department_head"
        elif caller.has("directorate", self.access.faculty_of_group(group)):
            role = "directorate"
        else:
            raise NotFound(f"no make-up {makeup_id}")
        return self.makeup.call("extend_makeup", makeup_id, body["until"].isoformat(), body["reason"], caller.code,
                                role)

    @route("GET", "/api/v1/makeups", summary="Each role's make-up queue",
           params={"state": "requested|assigned|completed|expired", "group": "group", "discipline": "discipline",
                   "limit": "at most 500", "cursor": "from next_cursor"},
           answer=MakeupListSchema)
    def list_makeups(self, request: Request, caller: Caller, body: None) -> Any:
        q = request.args
        args: dict[str, Any] = {"state": q.get("state"), "group": q.get("group"), "discipline": q.get("discipline"),
                                "limit": limit_of(request), "cursor": q.get("cursor")}
        if args["group"] and self.access.oversees_group(caller, args["group"]):
            pass
        elif caller.has("department_head") or caller.has("directorate"):
            role = "department_head" if caller.has("department_head") else "directorate"
            args["awaiting_extension_role"] = role
            args["groups"] = self.access.groups_overseen(caller, role)
        elif caller.has("teacher"):
            args["teacher"] = caller.code
        elif caller.has("student"):
            args["student"] = caller.code
        elif not caller.has_any(OFFICE):
            raise Forbidden("make-ups are listed for teachers, students and office roles")
        return self.makeup.call("list_makeups", **args)

    @route("GET", "/api/v1/makeups/register", summary="The make-up register with its consistency check",
           params={"group": "group", "discipline": "discipline"}, answer=MakeupRegisterSchema)
    def makeup_register(self, request: Request, caller: Caller, body: None) -> Any:
        group, discipline = self._group_discipline(request)
        if not (self.access.teaches(caller, group, discipline) or self.access.oversees_group(caller, group)):
            raise NotFound(f"no register for {group} / {discipline}")
        return self.makeup.call("register", group, discipline)

    # -- disputes -------------------------------------------------------------------------------------
    @route("POST", "/api/v1/disputes", summary="A student disputes an assessment with the teacher",
           roles=("student",), body=DisputeSchema, status=201, answer=DisputeViewSchema)
    def open_dispute(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        assessment = self.grading.call("get_assessment", body["assessment"])
        if assessment["group"] != caller.group:
            raise NotFound(f"no assessment {body['assessment']}")
        mine = [g for g in assessment["grades"] if g["student"] == caller.code]
        published = mine[0].get("set_at") if mine else None
        return self.makeup.call("open_dispute", body["assessment"], caller.code, body["reason"], caller.code,
                                published_at=published)

    @route("POST", "/api/v1/disputes/<int:dispute_id>/resolve", summary="The teacher resolves a dispute",
           roles=("teacher",), body=ResolveSchema, answer=DisputeViewSchema)
    def resolve_dispute(self, request: Request, caller: Caller, body: dict[str, Any], dispute_id: int) -> Any:
        dispute = self.makeup.call("get_dispute", dispute_id)
        if not self.access.teaches(caller, dispute["group"], dispute["discipline"]):
            raise NotFound(f"no dispute {dispute_id}")
        return self.makeup.call("resolve_dispute", dispute_id, body["value"], body["note"], caller.code)

    @route("POST", "/api/v1/disputes/<int:dispute_id>/escalate",
           summary="The student takes an unresolved dispute to the department head / directorate", roles=("student",),
           answer=DisputeViewSchema)
    def escalate_dispute(self, request: Request, caller: Caller, body: None, dispute_id: int) -> Any:
        dispute = self.makeup.call("get_dispute", dispute_id)
        if dispute["student"] != caller.code:
            raise NotFound(f"no dispute {dispute_id}")
        return self.makeup.call("escalate_dispute", dispute_id, caller.code)

    # -- commissions and appeals ------------------------------------------------------------------------
    @route("POST", "/api/v1/commissions", summary="Form an appeal commission by order", roles=("academic_office",),
           body=CommissionSchema, status=201, answer=CommissionViewSchema)
    def create_commission(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        for i, member in enumerate(body["members"]):
            row = self.db.tx.get(Principal, member)
            if row is None or row.kind != "staff":
                raise ValidationFailed(f"members[{i}]: no staff member {member}", {f"members[{i}]": ["unknown"]})
        return self.makeup.call("create_commission", body["order"], body["members"], body["from_"].isoformat(),
                                body["to"].isoformat(), caller.code)

    @route("POST", "/api/v1/appeals", summary="A student appeals a posted statement or an assessment",
           roles=("student",), body=AppealSchema, status=201, answer=AppealViewSchema)
    def file_appeal(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        if (body["statement"] is None) == (body["assessment"] is None):
            raise ValidationFailed("name either a statement or an assessment", {"statement": ["one of the two"]})
        if body["statement"] is not None:
            target = self.grading.call("get_statement", body["statement"])
        else:
            target = self.grading.call("get_assessment", body["assessment"])
        if target["group"] != caller.group:
            raise NotFound("no such statement or assessment")
        return self.makeup.call("file_appeal", statement=body["statement"], assessment=body["assessment"],
                                student=caller.code, reason=body["reason"], actor=caller.code)

    @route("GET", "/api/v1/appeals", summary="The commission's queue; a student's own",
           params={"state": "filed|decided", "limit": "at most 500", "cursor": "from next_cursor"},
           answer=AppealListSchema)
    def list_appeals(self, request: Request, caller: Caller, body: None) -> Any:
        page = {"state": request.args.get("state"), "limit": limit_of(request), "cursor": request.args.get("cursor")}
        mine = self.access.commissions_of(caller, self.db.now().date())
        if mine:
            return self.makeup.call("list_appeals", commissions=mine, **page)
        if caller.has_any(OFFICE):
            return self.makeup.call("list_appeals", **page)
        if caller.has("student"):
            return self.makeup.call("list_appeals", student=caller.code, **page)
        raise Forbidden("appeals are listed for commission members, office roles and students")

    @route("POST", "/api/v1/appeals/<int:appeal_id>/decision",
           summary="A commission member records the decision with its protocol", body=AppealDecisionSchema,
           answer=AppealViewSchema)
    def decide_appeal(self, request: Request, caller: Caller, body: dict[str, Any], appeal_id: int) -> Any:
        if not self.access.commissions_of(caller, self.db.now().date()):
            raise Forbidden("decisions are recorded by members of an active appeal commission")
        return self.makeup.call("decide_appeal", appeal_id, body["upheld"], body["protocol"], body["value"],
                                caller.code)

    @handles("makeup", "commission.created")
    def on_commission_created(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)
