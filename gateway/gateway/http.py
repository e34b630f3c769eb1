"""The HTTP edge as data: every route is declared once with its method, path, who may call it and
its marshmallow schemas. The same declaration validates requests, answers errors as problem+json,
counts metrics and generates the OpenAPI document, so the document cannot drift from the code."""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from nameko.exceptions import RemoteError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from prometheus_client import Counter, Histogram
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from gateway.access import require_role
from kernel.errors import DomainError, InternalError, PayloadTooLarge, ValidationFailed
from kernel.errors import NotFound as NoSuchResource
from kernel.paging import page_size
from kernel.validation import flatten_marshmallow

log = logging.getLogger("gateway.http")

# the documents a route may answer instead of JSON (`format=`), as OpenAPI lists them
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
MAX_BODY = 10 * 1024 * 1024  # imports of a whole university fit; anything larger is refused (413)

# C0 control characters other than tab, line feed and carriage return, and lone UTF-16 surrogates (JSON's
# "\ud800"): PostgreSQL refuses NUL in text and nothing encodes a lone surrogate, so they are refused as input
# (422) before they reach a service, instead of failing there as a 500. No journal text needs them.
UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
UNWRITABLE_MESSAGE = "contains a control character or a lone surrogate"

REQUESTS = Counter("ejournal_http_requests_total", "HTTP requests", ["route", "method", "status"])
DURATION = Histogram("ejournal_http_request_duration_seconds", "HTTP request duration", ["route", "method"])


@dataclass
class Route:
    method: str
    path: str  # werkzeug syntax: /api/v1/sessions/<int:id>
    name: str
    summary: str
    roles: tuple[str, ...] | None  # None = any authenticated caller
    public: bool = False
    body: type[Schema] | None = None
    answer: type[Schema] | None = None
    answer_media: str = "application/json"
    status: int = 200
    params: dict[str, str] = field(default_factory=dict)  # query parameters documented
    uploads: tuple[str, ...] = ()  # media types of a file the route takes as its body (instead of a JSON schema)
    documents: tuple[str, ...] = ()  # media types answered instead of JSON on `format=`
    errors: dict[str, str] = field(default_factory=dict)  # statuses only this route answers (410), documented


ROUTES: list[Route] = []


class ProblemWsgiApp(WsgiApp):
    """Werkzeug answers a request no rule matches with an HTML page: a path with a line break in it, which even
    the catch-all route's `path` converter does not match, or a method no rule takes. Here it is the same 404
    problem+json as any other unknown route."""

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ, shallow=True)  # as nameko's WsgiApp, but for the two exceptions
        try:
            provider, request.path_values = self.url_map.bind_to_environ(environ).match()
            answer = provider.handle_request(request)
        except (NotFound, MethodNotAllowed):
            method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
            answer = problem(NoSuchResource(f"no route {method} {path!r}"))
        except HTTPException as exc:
            answer = exc
        return answer(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self) -> WsgiApp:
        return ProblemWsgiApp(self)


class ProblemHttpHandler(HttpRequestHandler):
    server = ProblemWebServer()


# Every HTTP entrypoint of the gateway is declared with this `http` (or `route`), never nameko's own: one web
# server serves them all, and nameko's would be a second one on the same port.
http = ProblemHttpHandler.decorator


def problem(exc: DomainError, request_id: str | None = None) -> Response:
    body = exc.problem()
    if request_id:
        body["request_id"] = request_id
    headers = {"X-Request-Id": request_id} if request_id else {}
    if exc.status == 429 and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return Response(json.dumps(body, ensure_ascii=False), status=exc.status,
                    mimetype="application/problem+json", headers=headers)


def json_response(data: Any, status: int = 200, request_id: str | None = None) -> Response:
    headers = {"X-Request-Id": request_id} if request_id else {}
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json", headers=headers)


def unwritable_fields(data: Any, path: str = "") -> list[str]:
    """The paths (`students[3].full_name`) of every string in a JSON value, key or text, that PostgreSQL cannot
    store or UTF-8 cannot encode."""
    if isinstance(data, str):
        return [path or "_body"] if UNWRITABLE.search(data) else []
    if isinstance(data, dict):
        found = []
        for key, value in data.items():
            inner = f"{path}.{key}" if path else str(key)
            if UNWRITABLE.search(key):
                found.append(path or "_body")
            found += unwritable_fields(value, inner)
        return found
    if isinstance(data, list):
        return [p for i, value in enumerate(data) for p in unwritable_fields(value, f"{path}[{i}]")]
    return []


def refuse_unwritable(data: Any, prefix: str = "") -> None:
    bad = unwritable_fields(data, prefix)
    if bad:
        raise ValidationFailed(f"{bad[0]}: {UNWRITABLE_MESSAGE}", {p: [UNWRITABLE_MESSAGE] for p in bad})


def refuse_unwritable_request(request: Request, path_values: dict[str, Any]) -> None:
    """Query parameters and path segments are text that reaches SQL as well."""
    refuse_unwritable({k: v for k, v in path_values.items() if isinstance(v, str)})
    refuse_unwritable({key: request.args.getlist(key) for key in request.args})


@functools.cache
def schema_of(schema: type[Schema]) -> Schema:
    """One instance per schema class: building one binds and copies its fields, which cost more than the load
    itself on the check-in path, and a schema keeps no state between loads."""
    return schema()


def read_json(request: Request, schema: type[Schema] | None) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes")
    if schema is None:
        return None
    try:
        data = json.loads(raw or b"null")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
        raise ValidationFailed("the body is not valid JSON", {"_body": ["not valid JSON"]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", {"_body": ["must be a JSON object"]})
    refuse_unwritable(data)
    try:
        return schema_of(schema).load(data)
    except ValidationError as exc:
        flat = flatten_marshmallow(exc.messages)
        first = next(iter(flat.items()))
        raise ValidationFailed(f"{first[0]}: {first[1][0]}", flat) from None


def limit_of(request: Request, default: int = 100) -> int:
    """The `limit` of a list (API.md: at most 500); anything else is a 422, not a 500."""
    return page_size(request.args.get("limit"), default)


def route(method: str, path: str, *, summary: str, roles: tuple[str, ...] | None = None, public: bool = False,
          body: type[Schema] | None = None, answer: type[Schema] | None = None, status: int = 200,
          answer_media: str = "application/json", params: dict[str, str] | None = None,
          authenticate: str = "authenticate", uploads: tuple[str, ...] = (),
          documents: tuple[str, ...] = (), present: Callable[[], bool] | None = None,
          errors: dict[str, str] | None = None) -> Callable:
    """Declare a gateway route. The handler is `fn(self, request, caller, payload, **path_values)` and
    returns data (sent as JSON with `status`) or a werkzeug Response. `authenticate` names the service's
    method that turns the request into the caller. `present` says whether the route exists in this deployment:
    when it does not, every request answers 404, before the caller or the body is looked at."""

    def decorate(fn: Callable) -> Any:
        spec = Route(method, path, fn.__name__, summary, roles, public, body, answer, answer_media, status,
                     params or {}, uploads, documents, errors or {})
        ROUTES.append(spec)

        @functools.wraps(fn)
        def handler(self: Any, request: Request, **path_values: Any) -> Response:
            started = time.perf_counter()
            request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
            if len(request_id) > 64:
                request_id = uuid.uuid4().hex
            self.context.data["request_id"] = request_id  # `context_data` is a copy: RPC headers read `data`
            try:
                if present is not None and not present():
                    raise NoSuchResource("no such resource")
                caller = None if public else getattr(self, authenticate)(request)
                if roles is not None and caller is not None:
                    require_role(caller, roles)
                refuse_unwritable_request(request, path_values)
                payload = read_json(request, body)
                result = fn(self, request, caller, payload, **path_values)
                response = result if isinstance(result, Response) else json_response(result, status, request_id)
            except DomainError as exc:
                response = problem(exc, request_id)
            except RemoteError:
                log.exception("remote failure on %s %s (request %s)", method, path, request_id)
                response = problem(InternalError("an internal error occurred; it has been logged"), request_id)
                response.status_code = 500
            except Exception:  # noqa: BLE001 - no 500 leaks internals
                log.exception("failure on %s %s (request %s)", method, path, request_id)
                response = problem(InternalError("an internal error occurred; it has been logged"), request_id)
                response.status_code = 500
            response.headers.setdefault("X-Request-Id", request_id)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")  # JSON holding `<script>` stays data
            REQUESTS.labels(path, method, str(response.status_code)).inc()
            DURATION.labels(path, method).observe(time.perf_counter() - started)
            return response

        return http(method, path)(handler)

    return decorate


# -- OpenAPI ------------------------------------------------------------------------------------
def _field_schema(f: Any, components: dict[str, Any]) -> dict[str, Any]:
    from marshmallow import fields as m

    out: dict[str, Any]
    if isinstance(f, m.Nested):
        out = schema_ref(f.nested if isinstance(f.nested, type) else type(f.nested), components)
        if f.allow_none:
            out = {"anyOf": [out, {"type": "null"}]}
    elif isinstance(f, m.List):
        out = {"type": "array", "items": _field_schema(f.inner, components)}
    elif isinstance(f, m.Dict):
        out = {"type": "object"}
        if f.value_field is not None:
            out["additionalProperties"] = _field_schema(f.value_field, components)
    elif isinstance(f, m.Integer):
        out = {"type": "integer"}
    elif isinstance(f, m.Float | m.Decimal):
        out = {"type": "number"}
    elif isinstance(f, m.Boolean):
        out = {"type": "boolean"}
    elif isinstance(f, m.DateTime):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(f, m.Date):
        out = {"type": "string", "format": "date"}
    elif isinstance(f, m.String):
        out = {"type": "string"}
    else:  # Raw, a bare Field or a contract's own (a make-up value: a number or a grade word): any JSON value
        out = {}
    choices = getattr(f, "validators", [])
    for v in choices:
        if hasattr(v, "choices"):
            out["enum"] = list(v.choices)
    if getattr(f, "allow_none", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if f.metadata.get("description"):
        out["description"] = f.metadata["description"]
    return out


def schema_object(schema: type[Schema], components: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required = []
    for name, f in schema().fields.items():
        key = f.data_key or name
        props[key] = _field_schema(f, components)
        if f.required:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "code": {"type": "string"},
                   "errors": {"type": "object"}, "request_id": {"type": "string"}},
}


COMPONENT_OWNERS: dict[str, type[Schema]] = {"Problem": Schema}


def component_name(schema: type[Schema]) -> str:
    """`Order` for OrderSchema; the first schema of a name keeps it, another service's schema of the same name is
    `<package>.Order`, so one never hides the other in the document."""
    name = schema.__name__.removesuffix("Schema")
    if COMPONENT_OWNERS.setdefault(name, schema) is not schema:
        owner = schema.__module__.removeprefix("contracts.").split(".")[0]  # contracts.grading -> grading
        name = f"{owner}.{name}"
    return name


def schema_ref(schema: type[Schema], components: dict[str, Any]) -> dict[str, Any]:
    name = component_name(schema)
    if name not in components:
        components[name] = {}
        components[name] = schema_object(schema, components)
    return {"$ref": f"#/components/schemas/{name}"}


def openapi(version: str = "1.0.0") -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM}
    paths: dict[str, Any] = {}
    for r in ROUTES:
        path = r.path
        params = []
        for part in re.findall(r"<[^>]+>", path):  # also inside a segment: /statements/<int:id>.<fmt>
            conv, _, name = part[1:-1].rpartition(":")
            params.append({"name": name, "in": "path", "required": True,
                           "schema": {"type": "integer" if conv == "int" else "string"}})
            path = path.replace(part, "{" + name + "}")
        params += [{"name": k, "in": "query", "required": False, "description": v, "schema": {"type": "string"}}
                   for k, v in r.params.items()]
        op: dict[str, Any] = {"operationId": r.name, "summary": r.summary, "parameters": params,
                              "responses": {}}
        if r.roles:
            op["description"] = "Roles: " + ", ".join(r.roles)
        if r.public:
            op["security"] = []
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": schema_ref(r.body, components)}}}
        elif r.uploads:
            binary = {"type": "string", "format": "binary"}
            op["requestBody"] = {"required": True, "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                   "properties": {"file": binary}}},
                **{media: {"schema": binary} for media in r.uploads}}}
        ok: dict[str, Any] = {"description": "OK"}
        if r.answer is not None:
            ok["content"] = {r.answer_media: {"schema": schema_ref(r.answer, components)}}
        elif r.answer_media != "application/json":
            ok["content"] = {r.answer_media: {"schema": {"type": "string"}}}
        for media in r.documents:
            ok.setdefault("content", {})[media] = {"schema": {"type": "string", "format": "binary"}}
        op["responses"][str(r.status)] = ok
        problem_ref = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for code, text in (("401", "Not authenticated"), ("403", "Forbidden"), ("404", "Not found"),
                           ("409", "Conflict"), ("413", "Too large"), ("422", "Validation failed"),
                           ("429", "Too many requests"), ("500", "Internal error (logged; no internals in it)"),
                           ("503", "Unavailable"), *r.errors.items()):
            op["responses"][code] = {"description": text, **problem_ref}
        paths.setdefault(path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Electronic class journal API", "version": version},
        "servers": [{"url": "/"}],
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
