"""REST API for facilitators: sign-in, sign-out, profile and groups (cookie-authenticated)."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict
from typing import Any

from aiohttp import web
from pydantic import Field

from rooms.errors import Refusal
from rooms.validation import StrictModel, TidyText
from server import accounts
from server.limits import SlidingLimit, client_address
from server.store import Facilitator, Group
from server.web import CLOCK, SETTINGS, STORE, facilitator_only, parse_body, signed_in

SIGNIN_PER_MINUTE = 10  # per client address: slows password guessing without locking anyone out
SIGNIN_PER_ACCOUNT_PER_MINUTE = 10  # per email, from any address: against spread-out guessing


class SignInRequest(StrictModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class ProfileRequest(StrictModel):
    display_name: TidyText | None = Field(default=None, min_length=1, max_length=80)
    credentials: str | None = Field(default=None, max_length=80)


class GroupRequest(StrictModel):
    name: TidyText = Field(min_length=1, max_length=120)


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


def profile(f: Facilitator) -> dict[str, Any]:
    return {
        "id": f.id,
        "email": f.email,
        "display_name": f.display_name,
        "credentials": f.credentials,
    }


def group_json(g: Group) -> dict[str, Any]:
    data = asdict(g)
    data["facilitator_ids"] = list(g.facilitator_ids)
    return data


class SignInLimiter:
    """Per client address (behind a trusted proxy: the forwarded one) and per account; both
    forget idle keys (server/limits.py)."""

    def __init__(self) -> None:
        self.by_address = SlidingLimit(SIGNIN_PER_MINUTE, 60.0)
        self.by_account = SlidingLimit(SIGNIN_PER_ACCOUNT_PER_MINUTE, 60.0)


SIGNIN_LIMITER = web.AppKey("signin_limiter", SignInLimiter)


async def sign_in(request: web.Request) -> web.StreamResponse:
    now = request.app[CLOCK]()
    limiter, at = request.app[SIGNIN_LIMITER], time.monotonic()
    address = client_address(
        request.remote,
        request.headers.get("X-Forwarded-For"),
        request.app[SETTINGS].trusted_proxies,
    )
    if not limiter.by_address.allow(address, at):
        raise Refusal("rate_limited", "too many sign-in attempts; wait a minute")
    body = await parse_body(request, SignInRequest)
    if not limiter.by_account.allow(body.email.strip().lower(), at):
        raise Refusal("rate_limited", "too many sign-in attempts; wait a minute")
    store = request.app[STORE]
    facilitator = await store.find_facilitator_by_email(body.email.strip().lower())
    # One answer, in the same time, for an unknown email and a wrong password.
    known = await accounts.check_password(
        facilitator.password_hash if facilitator else None, body.password
    )
    if facilitator is None or not known or facilitator.disabled:
        raise Refusal("unauthorized", "email or password is not right")
    response = web.json_response(profile(facilitator))
    response.set_cookie(
        accounts.COOKIE_NAME,
        accounts.issue_cookie(
            request.app[SETTINGS].secret, facilitator.id, now, facilitator.token_version
        ),
        max_age=accounts.COOKIE_TTL_S,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path="/",
    )
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    """Revokes the account's cookies (this one and any copy of it), then clears it."""
    me = await signed_in(request)
    if me is not None:
        await request.app[STORE].update_facilitator_access(me.id)
    response = web.json_response({"ok": True})
    response.del_cookie(accounts.COOKIE_NAME, path="/")
    return response


@facilitator_only
async def get_me(request: web.Request, me: Facilitator) -> web.StreamResponse:
    return web.json_response(profile(me))


@facilitator_only
async def update_me(request: web.Request, me: Facilitator) -> web.StreamResponse:
    body = await parse_body(request, ProfileRequest)
    updated = await request.app[STORE].update_facilitator_profile(
        me.id,
        body.display_name if body.display_name is not None else me.display_name,
        body.credentials if body.credentials is not None else me.credentials,
    )
    return web.json_response(profile(updated or me))


@facilitator_only
async def list_groups(request: web.Request, me: Facilitator) -> web.StreamResponse:
    groups = await request.app[STORE].groups_of(me.id)
    return web.json_response({"groups": [group_json(g) for g in groups]})


@facilitator_only
async def create_group(request: web.Request, me: Facilitator) -> web.StreamResponse:
    body = await parse_body(request, GroupRequest)
    group = Group(
        id="g_" + secrets.token_urlsafe(8),
        name=body.name,
        owner_id=me.id,
        facilitator_ids=(me.id,),
        created_at=request.app[CLOCK](),
    )
    await request.app[STORE].add_group(group)
    return web.json_response(group_json(group), status=201)


def add_routes(app: web.Application) -> None:
    app[SIGNIN_LIMITER] = SignInLimiter()
    app.router.add_post("/api/auth/signin", sign_in)
    app.router.add_post("/api/auth/signout", sign_out)
    app.router.add_get("/api/me", get_me)
    app.router.add_patch("/api/me", update_me)
    app.router.add_get("/api/groups", list_groups)
    app.router.add_post("/api/groups", create_group)
