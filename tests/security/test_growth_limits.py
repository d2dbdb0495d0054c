"""Issue 15, findings 3, 11 and 12 on a live server: joins are limited per token and per
address, the audit log's rate is capped with a counted row, and a client's unknown action or
target strings are never stored verbatim."""

from __future__ import annotations

import asyncio
from typing import Any

from server.limits import AuditCap, JoinLimits, SlidingLimit
from server.web import STORE
from tests.clients import Client, token_of
from tests.conftest import RunningServer


def _namespace(server: RunningServer) -> Any:
    return server.live.fanout.sio.namespace_handlers["/"]


async def test_joins_are_limited_per_token(circle_server: RunningServer) -> None:
    limits = JoinLimits()
    limits.by_token = SlidingLimit(3, 60.0)
    _namespace(circle_server).join_limits = limits
    session = await circle_server.create_session()
    client = Client()
    await client.connect(circle_server, {"token": token_of(session["invite_url"])})
    try:
        for _ in range(3):
            assert (await client.call("join", {"name": "Ari"}))["ok"]
            assert (await client.call("leave"))["ok"]
            await client.sio.disconnect()
            client = Client()
            await client.connect(circle_server, {"token": token_of(session["invite_url"])})
        assert (await client.call("join", {"name": "Ari"}))["error"] == "rate_limited"
    finally:
        await client.sio.disconnect()


async def test_audit_is_capped_and_names_no_client_strings(circle_server: RunningServer) -> None:
    _namespace(circle_server).audit_cap = AuditCap(3, 1.0)
    session = await circle_server.create_session()
    lead = Client()
    await lead.connect(circle_server, {"token": token_of(session["facilitator_url"])})
    try:
        assert (await lead.call("join", {"name": "Dana"}))["ok"]
        reply = await lead.call("control", {"action": "<b>hi</b>", "target": "Ari's diagnosis"})
        assert reply["error"] == "invalid"
        for _ in range(10):
            await lead.call("control", {"action": "lock"})
        await asyncio.sleep(1.1)
        assert (await lead.call("control", {"action": "unlock"}))["ok"]
    finally:
        await lead.sio.disconnect()
    entries = await circle_server.app[STORE].audit_of_session(session["session_id"], 100)
    first = entries[0]
    assert (first.action, first.target_id) == ("unknown", "unknown")
    assert len(entries) == 3 + 2  # 3, then the unlock and one row counting the 8 refused
    assert (entries[-1].action, entries[-1].detail) == ("rate_limited", {"refused": 8})
    assert not any("hi" in e.action or "diagnosis" in str(e.target_id) for e in entries)
