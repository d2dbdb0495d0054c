"""Shared web plumbing for the REST modules: app keys, the JSON error shape, body parsing and
who is calling (a signed-in facilitator or the server's API key)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from rooms.errors import Refusal
from rooms.validation import describe
from server import accounts
from server.config import Settings
from server.store import Facilitator, Group, SessionRecord, Store


class LiveView(Protocol):
    """What the REST API may read of running sessions (server/live/registry.py)."""

    def summary(self, session_id: str) -> dict[str, Any] | None: ...

    def engagement(self, session_id: str) -> dict[str, Any] | None: ...

    def counts(self) -> tuple[int, int]: ...

    def objects(self) -> dict[str, int]: ...

    def link_levels(self) -> dict[tuple[str, str], int]: ...

    def unwatched_publishers(self) -> int: ...


class Locator(Protocol):
    """Where a session runs in a cluster (server/cluster/node.py)."""

    async def owner_url(self, session_id: str) -> str | None: ...

    async def claimed(self, session_id: str) -> bool: ...


log = logging.getLogger(__name__)

STORE = web.AppKey("store", Store)
LIVE = web.AppKey("live", LiveView)
CLUSTER: web.AppKey[Locator | None] = web.AppKey("cluster")  # None: a single process
SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
MAX_BODY_BYTES = 16 * 1024

# The HTTP status of each refusal code that a REST route can answer.
STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "invalid_token": 401,
    "expired_token": 401,
    "forbidden": 403,
    "blocked": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "live": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal": 500,
    "not_ready": 503,
}
# aiohttp's own HTTP errors (no route, wrong method, ...) answered in the same JSON shape
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "invalid"}

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A route refuses by raising Refusal; this is the one place that answers it."""
    try:
        return await handler(request)
    except Refusal as refusal:
        return web.json_response(refusal.reply(), status=STATUS.get(refusal.code, 400))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "invalid" if exc.status < 500 else "internal")
        return error(exc.status, code, exc.reason)
    except Exception:
        # Never a traceback to the caller; the log has it (no request data: names, tokens).
        log.exception("%s %s failed", request.method, request.match_info.route.resource)
        return error(500, "internal", "something went wrong on the server")


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The validated JSON body, or a Refusal naming the field (answered 400 or 413)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise Refusal("too_large", f"body over {MAX_BODY_BYTES} bytes")
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise Refusal("too_large", f"body over {MAX_BODY_BYTES} bytes") from None
    except ValueError:
        raise Refusal("invalid", "body must be JSON") from None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise Refusal("invalid", describe(exc)) from None


async def signed_in(request: web.Request) -> Facilitator | None:
    """The facilitator of a genuine cookie not revoked since (sign-out, password reset,
    disabled account: each bumps the account's token version)."""
    claims = accounts.read_cookie_claims(
        request.app[SETTINGS].secret,
        request.cookies.get(accounts.COOKIE_NAME),
        request.app[CLOCK](),
    )
    if claims is None:
        return None
    facilitator = await request.app[STORE].get_facilitator(claims[0])
    if facilitator is None or facilitator.disabled or facilitator.token_version != claims[1]:
        return None
    return facilitator


def api_key_ok(request: web.Request) -> bool:
    expected = request.app[SETTINGS].api_key
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and secrets.compare_digest(key.strip(), expected)
    )


def require_api_key(request: web.Request) -> None:
    if not api_key_ok(request):
        raise Refusal("unauthorized", "a valid API key is required (Authorization: Bearer)")


class Caller:
    """Who is asking: the API key (may do anything) or a signed-in facilitator."""

    def __init__(self, facilitator: Facilitator | None) -> None:
        self.facilitator = facilitator

    @property
    def who(self) -> str:
        """The caller as an audit log names it."""
        return self.facilitator.id if self.facilitator else "api-key"

    def leads_group(self, group: Group | None) -> bool:
        if group is None:
            return False
        return self.facilitator is None or self.facilitator.id in group.facilitator_ids

    async def leads_session(self, store: Store, record: SessionRecord) -> bool:
        if self.facilitator is None or record.created_by == self.facilitator.id:
            return True
        if record.group_id is None:
            return False
        return self.leads_group(await store.get_group(record.group_id))


CallerHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]
FacilitatorHandler = Callable[[web.Request, Facilitator], Awaitable[web.StreamResponse]]


def key_or_facilitator(handler: CallerHandler) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        if api_key_ok(request):
            return await handler(request, Caller(None))
        facilitator = await signed_in(request)
        if facilitator is None:
            raise Refusal("unauthorized", "sign in, or send the API key (Authorization: Bearer)")
        return await handler(request, Caller(facilitator))

    return run


def facilitator_only(handler: FacilitatorHandler) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        facilitator = await signed_in(request)
        if facilitator is None:
            raise Refusal("unauthorized", "sign in first")
        return await handler(request, facilitator)

    return run


async def led_session(request: web.Request, caller: Caller) -> SessionRecord:
    """The session in the path, if the caller leads it; the same 404 for someone else's."""
    store = request.app[STORE]
    record = await store.get_session(request.match_info["session_id"])
    if record is None or not await caller.leads_session(store, record):
        raise Refusal("not_found", "no such session of yours")
    return record


async def led_group(request: web.Request, caller: Caller) -> Group:
    group = await request.app[STORE].get_group(request.match_info["group_id"])
    if not caller.leads_group(group):
        raise Refusal("not_found", "no such group of yours")
    assert group is not None
    return group
