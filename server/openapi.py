"""The REST API's OpenAPI 3.1 document, generated from the pydantic models the routes parse
their bodies with (`parse_body`), served at /api/openapi.json with a readable page at
/api-docs (static/api.html). tests/test_openapi.py checks that the document, the app's router
and docs/api.md name the same routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server.console_api import GroupRequest, ProfileRequest, SignInRequest
from server.link_api import LinkRequest
from server.sessions_api import AUDIT_LIMIT_MAX, CreateSessionRequest, EmptyRequest, InviteRequest
from server.web import SETTINGS, STATUS

COOKIE, KEY, NONE = "cookie", "api_key", "none"


@dataclass(frozen=True)
class Operation:
    summary: str
    auth: tuple[str, ...] = (COOKIE, KEY)
    body: type[BaseModel] | None = None
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    ok: int = 200
    refusals: tuple[str, ...] = ()
    content_type: str = "application/json"  # of the answer when it is `ok`


LIMIT = {"limit": {"type": "integer", "minimum": 1, "maximum": AUDIT_LIMIT_MAX, "default": 100}}
FORMAT = {"format": {"type": "string", "enum": ["json", "csv"], "default": "json"}}
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/auth/signin"): Operation(
        "Sign a facilitator in (sets the circle_session cookie)",
        (NONE,),
        SignInRequest,
        refusals=("unauthorized", "rate_limited"),
    ),
    ("POST", "/api/auth/signout"): Operation(
        "Sign out and revoke the account's cookies", (NONE,), EmptyRequest
    ),
    ("GET", "/api/me"): Operation("The signed-in facilitator's profile", (COOKIE,)),
    ("PATCH", "/api/me"): Operation("Change the profile", (COOKIE,), ProfileRequest),
    ("GET", "/api/groups"): Operation("Groups the facilitator leads", (COOKIE,)),
    ("POST", "/api/groups"): Operation("Make a group", (COOKIE,), GroupRequest, ok=201),
    ("POST", "/api/sessions"): Operation(
        "Make a session", body=CreateSessionRequest, ok=201, refusals=("not_found",)
    ),
    ("GET", "/api/sessions"): Operation("The facilitator's sessions, newest first"),
    ("GET", "/api/sessions/{session_id}"): Operation("One session with its links"),
    ("DELETE", "/api/sessions/{session_id}"): Operation(
        "Delete the session's summary, audit log and record", refusals=("live",)
    ),
    ("GET", "/api/sessions/{session_id}/audit"): Operation("The audit log", query=LIMIT),
    ("POST", "/api/sessions/{session_id}/invite_link"): Operation(
        "Replace the general invite and co-facilitator links", body=EmptyRequest
    ),
    ("GET", "/api/sessions/{session_id}/engagement"): Operation("Live engagement"),
    ("GET", "/api/sessions/{session_id}/summary"): Operation("The summary", query=FORMAT),
    ("GET", "/api/sessions/{session_id}/crises"): Operation(
        "The session's crisis records (leaders of its group)", query=FORMAT
    ),
    ("GET", "/api/groups/{group_id}/invites"): Operation("Personal invites of a group"),
    ("POST", "/api/groups/{group_id}/invites"): Operation(
        "Add a personal invite", body=InviteRequest, ok=201
    ),
    ("DELETE", "/api/groups/{group_id}/invites/{invite_id}"): Operation("Revoke an invite"),
    ("GET", "/api/groups/{group_id}/trends"): Operation("Members' trends across sessions"),
    ("GET", "/api/stats"): Operation(
        "Forwarding counters",
        (KEY,),
        query={"reset_delays": {"type": "string", "enum": ["1"]}},
    ),
    ("POST", "/api/link"): Operation(
        "What a link holder sees before joining: title, start, who leads",
        (NONE,),
        LinkRequest,
        refusals=("invalid_token", "expired_token", "blocked", "not_found"),
    ),
    ("GET", "/api/openapi.json"): Operation("This document", (NONE,)),
    ("GET", "/healthz"): Operation("Liveness", (NONE,)),
    ("GET", "/readyz"): Operation(
        "Readiness: store (and Redis) reachable, not draining", (NONE,), refusals=("not_ready",)
    ),
    ("GET", "/metrics"): Operation(
        "Prometheus metrics (text format 0.0.4)", (KEY,), content_type="text/plain"
    ),
}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


def _operation(method: str, path: str, op: Operation) -> dict[str, Any]:
    refused = ["invalid", "method_not_allowed", *op.refusals]
    if op.auth != (NONE,):
        refused += ["unauthorized", "not_found"]
    if method != "GET":
        refused += ["forbidden", "unsupported_media_type", "too_large"]
    statuses = sorted({STATUS[code] for code in refused} | {404, 421})
    responses: dict[str, Any] = {
        str(op.ok): {"description": "done", "content": {op.content_type: {"schema": {}}}}
    }
    for status in statuses:
        responses[str(status)] = {
            "description": "refused",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_params(path)
    ] + [{"name": n, "in": "query", "schema": s} for n, s in op.query.items()]
    out: dict[str, Any] = {"summary": op.summary, "responses": responses}
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    if op.auth != (NONE,):
        out["security"] = [{"cookie": []} if a == COOKIE else {"apiKey": []} for a in op.auth]
    return out


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def document(base_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR}
    for (method, path), op in OPERATIONS.items():
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op)
        if op.body is not None:
            schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[op.body.__name__] = schema
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Circle API", "version": "1", "description": "docs/api.md"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "circle_session"},
                "apiKey": {"type": "http", "scheme": "bearer"},
            },
        },
    }
    if base_url:
        doc["servers"] = [{"url": base_url}]
    return doc


async def serve_document(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response(document(settings.public_url or str(request.url.origin())))


async def docs_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[SETTINGS].static_dir / "api.html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", serve_document)
    app.router.add_get("/api-docs", docs_page)
