"""server/signalling.py without sockets: dispatch, refusals, the rate limit, joining and the
connection state kept in python-socketio's session."""

from __future__ import annotations

from rooms.model import Role
from tests.live.conftest import Live


async def test_an_unknown_event_is_refused_to_its_sender_only(live: Live) -> None:
    await live.session()
    await live.connect("a")
    await live.connect("b")
    reply = await live.send("a", "teleport", {})
    assert reply["error"] == "unknown_event"
    assert live.sio.to("a") == ["error"]
    assert live.sio.to("b") == []


async def test_a_socket_without_a_connection_record_is_refused(live: Live) -> None:
    reply = await live.send("nobody", "join", {"name": "Ann"})
    assert reply["error"] == "invalid_token"


async def test_requests_before_joining_are_refused_and_change_nothing(live: Live) -> None:
    await live.session()
    await live.connect("a")
    for event in ("publish", "subscribe", "media_state", "control", "leave", "client_stats"):
        reply = await live.send("a", event, {})
        assert reply["error"] in {"not_joined", "invalid"}, (event, reply)
    assert live.registry.sessions == {}


async def test_a_bad_join_body_is_refused_with_the_field(live: Live) -> None:
    await live.session()
    await live.connect("a")
    reply = await live.send("a", "join", {"name": ""})
    assert reply["error"] == "invalid"
    assert reply["message"].startswith("name:")
    assert live.registry.sessions == {}


async def test_the_rate_limit_refuses_a_flood_and_the_connection_goes_on(live: Live) -> None:
    await live.session()
    await live.connect("a")
    replies = [await live.send("a", "leave", {}) for _ in range(40)]
    codes = [r["error"] for r in replies]
    assert codes[:30] == ["not_joined"] * 30  # the burst
    assert "rate_limited" in codes[30:]


async def test_join_once_then_already_joined(live: Live) -> None:
    await live.session()
    pid = await live.join("a", "Ann")
    again = await live.send("a", "join", {"name": "Ann"})
    assert again["error"] == "invalid"
    session = live.registry.sessions["s_1"].session
    assert list(session.participants) == [pid]


async def test_a_refused_connection_keeps_no_record(live: Live) -> None:
    await live.session()
    try:
        await live.namespace.trigger_event("connect", "a", {}, {"token": "forged"})
    except Exception as exc:  # socketio's ConnectionRefusedError carries the reason
        assert "invalid_token" in str(exc.args)
    else:
        raise AssertionError("a forged token was accepted")
    assert "connection" not in live.sio.sessions.get("a", {})


async def test_after_removal_the_socket_speaks_for_no_one(live: Live) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    assert (await live.send("a", "control", {"action": "remove", "target": bo}))["ok"]
    assert (await live.send("b", "media_state", {"audio": True}))["error"] == "not_joined"
    await live.namespace.trigger_event("disconnect", "b", "server disconnect")
    assert len(live.registry.sessions["s_1"].session.participants) == 1
