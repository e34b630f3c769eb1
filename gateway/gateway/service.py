"""The HTTP gateway: authenticates, authorizes every request at object level from its access read
model (fed by identity's events; no per-request RPC to identity for access), and forwards to the
services over RPC with timeouts. It owns nothing authoritative."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import delete, select, text
from werkzeug.wrappers import Request, Response

from contracts.identity import ContingentSchema, ImportResultSchema, LoadSchema, OrderSchema, SubstitutionSchema
from gateway import auth
from gateway.access import Access, Caller
from gateway.attendance_routes import AttendanceRoutes
from gateway.grading_routes import GradingRoutes
from gateway.http import http, json_response, limit_of, openapi, problem, route
from gateway.makeup_routes import MakeupRoutes
from gateway.models import ApiToken, LoginFailure, Principal, RefreshToken
from gateway.portal_routes import PortalRoutes
from gateway.projections import PROJECTIONS
from gateway.reports_routes import ReportsRoutes
from gateway.schemas import (
    AuditListSchema,
    AuditVerifySchema,
    ClockAnswerSchema,
    ClockSchema,
    LoginSchema,
    MeSchema,
    OrderViewSchema,
    PasswordChangedSchema,
    PasswordSchema,
    PolicySchema,
    ReadySchema,
    RefreshSchema,
    SubstitutionViewSchema,
    TokenPairSchema,
)
from gateway.token_routes import TokenRoutes, TokenUses
from gateway.web_routes import WebPages
from kernel import clock
from kernel.cache import Memo
from kernel.config import SERVICES, settings
from kernel.consumer import handles
from kernel.db import Database
from kernel.errors import DomainError, Forbidden, NotFound, RateLimited, Unauthenticated
from kernel.events import Envelope
from kernel.metrics import DomainGauge, Metrics
from kernel.paging import decode_cursor, encode_cursor
from kernel.policy import load_preset
from kernel.projections import apply
from kernel.rpc import ServiceRpc
from kernel.validation import invalid

BACKENDS = tuple(s for s in SERVICES if s != "gateway")
BACKLOG = Gauge("ejournal_service_outbox_backlog", "Unpublished outbox rows per service", ["service"])
OLDEST = Gauge("ejournal_service_outbox_oldest_age_seconds", "Oldest unpublished outbox row", ["service"])
IMPORT_TIMEOUT = 300.0
CALLER_TTL_S = 5.0  # how long a change of roles or an account's deactivation may take to reach every request


def audit_cursor(cursor: str | None) -> list[Any] | None:
    """The last entry of an earlier audit page, [at, service, id], from its next_cursor; anything else is a 422."""
    if not cursor:
        return None
    at, service, last = decode_cursor(cursor, 3)
    try:
        datetime.fromisoformat(at)
        ok = service in BACKENDS and isinstance(last, int) and not isinstance(last, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise invalid("cursor", "a next_cursor of an earlier page")
    return [at, service, last]


class WorkerContext(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> Any:
        return worker_ctx


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <access_token>")
    return token.strip()


class GatewayService(AttendanceRoutes, GradingRoutes, MakeupRoutes, ReportsRoutes, TokenRoutes, PortalRoutes,
                     WebPages):
    name = "gateway"
    db = Database()
    context = WorkerContext()
    telemetry = Metrics(serve=False)  # served by the `metrics` route below, on the gateway's own port
    token_uses = TokenUses()
    domain_gauges = (
        DomainGauge("ejournal_gateway_principals", "People who may log in, by kind (the access read model)",
                    "SELECT kind, count(*) FROM gateway.principal WHERE active GROUP BY kind", ("kind",)),
        DomainGauge("ejournal_gateway_sessions", "Timetable sessions the gateway knows",
                    "SELECT count(*) FROM gateway.session"),
        DomainGauge("ejournal_statement_locks", "Posted or closed statements locking journal data",
                    "SELECT state, count(*) FROM gateway.statement_lock GROUP BY state", ("state",)),
        DomainGauge("ejournal_api_token_uses", "Requests made with integration tokens (all tokens)",
                    "SELECT coalesce(sum(uses), 0) FROM gateway.api_token_use"),
    )
    identity = ServiceRpc("identity")
    attendance = ServiceRpc("attendance")
    grading = ServiceRpc("grading")
    makeup = ServiceRpc("makeup")
    reports = ServiceRpc("reports")
    callers = Memo(ttl=CALLER_TTL_S)

    # -- who is calling -------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Caller:
        bearer = _bearer(request)
        if auth.is_api_token(bearer):
            return self.integration_caller(request, bearer)
        claims = auth.read_access_token(bearer, settings().jwt_secret)
        caller = self.callers.get(claims["sub"], lambda: self.caller_of(claims["sub"]))
        if caller is None:
            raise Unauthenticated("the account is not active")
        return caller

    def authenticate_student(self, request: Request) -> Caller:
        """A student from the access token alone, no database (the check-in burst: every student's one request
        would miss any cache); other callers, and tokens without the student claim, as `authenticate`."""
        bearer = _bearer(request)
        if auth.is_api_token(bearer):
            return self.authenticate(request)
        claims = auth.read_access_token(bearer, settings().jwt_secret)
        student = claims.get("stu")
        if not isinstance(student, dict) or not isinstance(student.get("group"), str):
            return self.authenticate(request)
        return Caller(claims["sub"], None, "", (("student", None),), student["group"], (), settings().preset,
                      student.get("subgroup"))

    def caller_of(self, code: str) -> Caller | None:
        principal = self.db.tx.get(Principal, code)
        if principal is None or not principal.active:
            return None
        return Caller(principal.code, principal.login, principal.full_name,
                      tuple((r["role"], r.get("scope")) for r in principal.roles), principal.group,
                      tuple(principal.children), settings().preset, principal.subgroup)

    def integration_caller(self, request: Request, bearer: str) -> Caller:
        """A faculty system's token: it acts as its faculty's directorate (every route's own object checks
        apply), read-only unless one of its scopes opens this write. Every use is counted."""
        row = self.db.tx.scalars(select(ApiToken).where(ApiToken.token_hash == auth.hash_api_token(bearer))
                                      ).first()
        now = clock.real_now()
        if row is None or not auth.token_usable(row.active, row.expires_at, now):
            raise Unauthenticated("the API token is not valid (unknown, revoked or expired)")
        self.token_uses.record(row.id, now)
        if not auth.token_may(request.method, request.path, row.scopes):
            raise Forbidden("this token is read-only here: it has no write scope for this path")
        return Caller(f"integration:{row.id}", None, row.name,
                      (("integration", row.faculty), (auth.INTEGRATION_ACTS_AS, row.faculty)), None, (),
                      settings().preset, token=row.id, scopes=tuple(row.scopes))

    @property
    def access(self) -> Access:
        """The visibility rules over this request's read of the access read model (gateway/access.py)."""
        return Access(self.db.tx, load_preset(settings().preset))

    def backend(self, service: str) -> Any:
        return getattr(self, service)

    # -- auth -----------------------------------------------------------------------------------
    def _issue(self, code: str, family: str | None = None) -> dict[str, Any]:
        cfg = settings()
        now = clock.real_now()
        token, token_hash = auth.new_refresh_token()
        self.db.tx.add(RefreshToken(
            token_hash=token_hash, family=family or token_hash[:36], code=code, issued_at=now,
            expires_at=now + timedelta(seconds=cfg.refresh_token_seconds)))
        principal = self.db.tx.get(Principal, code)
        student = ({"group": principal.group, "subgroup": principal.subgroup}
                   if principal is not None and principal.kind == "student" and principal.group else None)
        return {"access_token": auth.issue_access_token(code, cfg.jwt_secret, now, cfg.access_token_seconds,
                                                        student),
                "refresh_token": token, "token_type": "Bearer", "expires_in": cfg.access_token_seconds}

    @route("POST", "/api/v1/auth/login", summary="Log in with login and password", public=True,
           body=LoginSchema, answer=TokenPairSchema)
    def login(self, request: Request, caller: None, body: dict[str, Any]) -> Any:
        cfg = settings()
        tx = self.db.tx
        now = clock.real_now()
        address = request.remote_addr or "unknown"
        since = now - timedelta(seconds=cfg.login_window_seconds)
        by_login = list(tx.scalars(select(LoginFailure.at).where(LoginFailure.login == body["login"],
                                                               LoginFailure.at > since)))
        by_address = list(tx.scalars(select(LoginFailure.at).where(LoginFailure.address == address,
                                                                 LoginFailure.at > since)))
        for failures, limit in ((by_login, cfg.login_max_failures), (by_address, cfg.address_max_failures)):
            until = auth.throttled_until(failures, now, limit, cfg.login_window_seconds)
            if until is not None:
                wait = max(1, int((until - now).total_seconds()) + 1)
                raise RateLimited(f"too many failed logins; try again in {wait} s", retry_after=wait)
        try:
            account = self.identity.call("authenticate", body["login"], body["password"])
        except Unauthenticated:
            tx.add(LoginFailure(login=body["login"], address=address, at=now))
            tx.commit()
            raise
        tx.execute(delete(LoginFailure).where(LoginFailure.login == body["login"]))
        pair = self._issue(account["code"])
        tx.commit()
        return pair

    @route("POST", "/api/v1/auth/refresh", summary="Exchange a refresh token for a new pair", public=True,
           body=RefreshSchema, answer=TokenPairSchema)
    def refresh(self, request: Request, caller: None, body: dict[str, Any]) -> Any:
        tx = self.db.tx
        now = clock.real_now()
        row = tx.get(RefreshToken, auth.hash_refresh_token(body["refresh_token"]), with_for_update=True)
        if row is None or row.revoked or row.expires_at <= now:
            raise Unauthenticated("the refresh token is not valid")
        if row.used_at is not None:  # a rotated token came back: someone else may hold the family
            tx.execute(RefreshToken.__table__.update().where(RefreshToken.family == row.family)
                      .values(revoked=True))
            tx.commit()
            raise Unauthenticated("the refresh token was already used; log in again")
        principal = tx.get(Principal, row.code)
        if principal is None or not principal.active:
            raise Unauthenticated("the account is not active")
        row.used_at = now
        pair = self._issue(row.code, row.family)
        tx.commit()
        return pair

    @route("POST", "/api/v1/auth/password", summary="Change one's own password", body=PasswordSchema,
           answer=PasswordChangedSchema)
    def password(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        self.identity.call("change_password", caller.code, body["old_password"], body["new_password"])
        self.db.tx.execute(RefreshToken.__table__.update().where(RefreshToken.code == caller.code)
                                .values(revoked=True))
        self.db.tx.commit()
        return {"changed": True}

    @route("GET", "/api/v1/me", summary="Who am I: roles and scopes", answer=MeSchema)
    def me(self, request: Request, caller: Caller, body: None) -> Any:
        if caller.token is not None:  # a token shows the role it was given, not the one it acts as
            return {"login": None, "code": caller.code, "full_name": caller.full_name,
                    "roles": [{"role": r, "scope": s} for r, s in caller.roles if r == "integration"],
                    "scopes": list(caller.scopes), "institution": caller.institution, "group": None, "children": []}
        roles = [{"role": r, "scope": s} for r, s in caller.roles]
        today = self.db.now().date()
        roles += [{"role": "commission", "scope": str(c)} for c in self.access.commissions_of(caller, today)]
        return {"login": caller.login, "code": caller.code, "full_name": caller.full_name,
                "roles": roles, "institution": caller.institution,
                "group": caller.group, "children": list(caller.children)}

    @route("GET", "/api/v1/policy", summary="The institution's active preset", answer=PolicySchema)
    def policy(self, request: Request, caller: Caller, body: None) -> Any:
        return load_preset(settings().preset).as_dict()

    # -- loading the year -----------------------------------------------------------------------
    @route("POST", "/api/v1/import/contingent", summary="Import faculties, groups, students, staff, parents",
           roles=("it_admin", "academic_office"), body=ContingentSchema, answer=ImportResultSchema)
    def import_contingent(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        return self.identity.call("import_contingent", json.loads(request.get_data()), caller.code,
                                  timeout=IMPORT_TIMEOUT)

    @route("POST", "/api/v1/import/load", summary="Import disciplines and the teaching load",
           roles=("it_admin", "academic_office"), body=LoadSchema, answer=ImportResultSchema)
    def import_load(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        return self.identity.call("import_load", json.loads(request.get_data()), caller.code,
                                  timeout=IMPORT_TIMEOUT)

    @route("POST", "/api/v1/orders", summary="Issue an enrolment order (admit, transfer, expel)",
           roles=("directorate",), body=OrderSchema, status=201, answer=OrderViewSchema)
    def orders(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        student = self.db.tx.get(Principal, body["student"])
        is_student = student is not None and student.kind == "student"
        faculty = self.access.faculty_of_group(student.group) if is_student else None
        if faculty is None or not caller.has("directorate", faculty):
            raise NotFound(f"no student {body['student']} in your faculty")  # API.md: not visible = not there
        if body["kind"] != "expel":
            target = self.access.faculty_of_group(body["group"])
            if target is not None and not caller.has("directorate", target):
                raise Forbidden(f"orders for faculty {target} are issued by its directorate")
        return self.identity.call("issue_order", json.loads(request.get_data()), caller.code)

    @route("POST", "/api/v1/substitutions", summary="Assign a substitute teacher",
           roles=("department_head", "directorate"), body=SubstitutionSchema, status=201,
           answer=SubstitutionViewSchema)
    def substitutions(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        """The head of the teacher's department assigns (000 §2, 002 §3.5); at Kostanay the faculty head's
        written permission (004 §21): the preset's `substitutes.assigned_by`."""
        role = load_preset(settings().preset).substitutes.assigned_by
        if not caller.has(role):
            raise Forbidden(f"substitutes are assigned by the {role.replace('_', ' ')} here")
        teacher = self.db.tx.get(Principal, body["teacher"])
        if teacher is None or teacher.kind != "staff" or not self.access.oversees_teacher(caller, teacher, role,
                                                                                  body.get("group")):
            raise NotFound(f"no teacher {body['teacher']} in your unit")  # API.md: not visible = not there
        return self.identity.call("create_substitution", json.loads(request.get_data()), caller.code)

    # -- audit and clock ------------------------------------------------------------------------
    @route("GET", "/api/v1/audit/verify", summary="Verify every service's audit chain",
           roles=("it_admin",), answer=AuditVerifySchema)
    def audit_verify(self, request: Request, caller: Caller, body: None) -> Any:
        results = dict(zip(BACKENDS, eventlet.GreenPool().imap(
            lambda s: self.backend(s).call("audit_verify", timeout=60), BACKENDS), strict=True))
        bad = next(((s, r["first_bad"]) for s, r in results.items() if not r["ok"]), None)
        return {"ok": bad is None, "entries": sum(r["entries"] for r in results.values()),
                "first_bad": bad and bad[1], "first_bad_service": bad and bad[0], "services": results}

    @route("GET", "/api/v1/audit", summary="Each change with who, when, old, new, reason, approval",
           roles=("it_admin", "academic_office", "directorate"),
           params={"entity": "mark, grade, excuse, ...", "id": "the entity's id", "student": "student code",
                   "limit": "at most 500", "cursor": "from next_cursor"},
           answer=AuditListSchema)
    def audit(self, request: Request, caller: Caller, body: None) -> Any:
        """Every service's entries merged in time order (at, service, id), a page at a time: each service gives
        its next limit + 1 past the cursor, so the merged page and whether more follow are exact."""
        q = request.args
        student = q.get("student")
        if not (caller.has("it_admin") or caller.has("academic_office")):
            row = self.db.tx.get(Principal, student) if student else None
            if row is None or not caller.has("directorate", self.access.faculty_of_group(row.group)):
                raise NotFound("name a student of your faculty")
        size = limit_of(request)
        after = audit_cursor(q.get("cursor"))
        args = {"entity": q.get("entity"), "entity_id": q.get("id"), "student": student, "limit": size + 1,
                "after": after}
        found = eventlet.GreenPool().imap(lambda svc: [dict(e, service=svc) for e in self.backend(svc).call(
            "audit_entries", **args, timeout=30)], BACKENDS)
        merged = sorted((e for entries in found for e in entries),
                        key=lambda e: (datetime.fromisoformat(e["at"]), e["service"], e["id"]))
        items = merged[:size]
        more = len(merged) > size
        return {"items": items,
                "next_cursor": encode_cursor(items[-1]["at"], items[-1]["service"], items[-1]["id"]) if more else None}

    @route("PUT", "/api/v1/_clock", summary="Set the simulation clock (simulation mode only)",
           roles=("it_admin",), body=ClockSchema, answer=ClockAnswerSchema, present=lambda: settings().simulation)
    def set_clock(self, request: Request, caller: Caller, body: dict[str, Any]) -> Any:
        clock.set_now(self.db.tx, body["now"], caller.code)
        self.db.audit(entity="clock", entity_id="1", action="set", actor=caller.code,
                      new={"now": body["now"].isoformat()})
        self.db.commit()
        return {"now": clock.now(self.db.tx).isoformat(), "simulation": True}

    # -- operations -----------------------------------------------------------------------------
    @http("GET", "/")
    def index(self, request: Request) -> Response:
        policy = load_preset(settings().preset)
        return json_response({"service": "electronic class journal", "institution": policy.name,
                              "name": policy.labels.name.get("ky"), "api": "/api/v1",
                              "openapi": "/api/v1/openapi.json", "ready": "/ready", "metrics": "/metrics"})

    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        return json_response({"status": "up", "service": "gateway"})

    @route("GET", "/ready", summary="Database, broker and every service answering", public=True,
           answer=ReadySchema)
    def ready(self, request: Request, caller: None, body: None) -> Any:
        checks: dict[str, Any] = {}
        try:
            self.db.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"failed: {type(exc).__name__}"

        def ping(service: str) -> tuple[str, str]:
            try:
                self.backend(service).call("ping", timeout=2)
                return service, "ok"
            except DomainError as exc:
                return service, exc.detail
            except Exception as exc:  # noqa: BLE001 - broker down shows here
                return service, f"failed: {type(exc).__name__}"

        checks.update(eventlet.GreenPool().imap(ping, BACKENDS))
        checks["broker"] = "ok" if any(v == "ok" for k, v in checks.items() if k in BACKENDS) else "unknown"
        ok = all(v == "ok" for v in checks.values())
        missing = [k for k, v in checks.items() if v != "ok"]
        return json_response({"ready": ok, "checks": checks, "missing": missing}, 200 if ok else 503)

    @http("GET", "/metrics")
    def metrics(self, request: Request) -> Response:
        def status(service: str) -> None:
            try:
                answer = self.backend(service).call("outbox_status", timeout=2)
                BACKLOG.labels(service).set(answer["backlog"])
                OLDEST.labels(service).set(answer["oldest_age_seconds"])
            except Exception:  # noqa: BLE001 - a missing service leaves its last value
                pass

        list(eventlet.GreenPool().imap(status, BACKENDS))
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @http("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi())

    @http("GET,POST,PUT,PATCH,DELETE", "/<path:anything>")
    def not_found(self, request: Request, anything: str) -> Response:
        return problem(NotFound(f"no route {request.method} /{anything}"))

    # -- the access read model, from identity's events (gateway/projections.py) ------------------------
    @handles("identity", "person.changed")
    def on_person_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)
        self.callers.forget(event.payload["code"])  # seen here at once; other replicas within CALLER_TTL_S

    @handles("identity", "org.changed")
    def on_org_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "assignment.changed")
    def on_assignment_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "substitution.created")
    def on_substitution_created(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)
