"""Signalling refusals: each bad request gets one clear error, to its sender only, and the
session and the other participants are untouched."""

from __future__ import annotations

import asyncio

from rooms.model import Role
from server.tokens import SessionGrant, issue
from tests.clients import Client, refused_connect, token_of
from tests.conftest import RunningServer, until


async def test_bad_tokens_are_refused_with_a_reason(circle_server: RunningServer) -> None:
    secret = circle_server.settings.secret
    expired = issue(secret, SessionGrant("s_x", "G", Role.PARTICIPANT, expires_at=1000))
    session = await circle_server.create_session()
    assert (await refused_connect(circle_server, None))["data"]["error"] == "invalid_token"
    assert (await refused_connect(circle_server, {"token": "junk"}))["data"][
        "error"
    ] == "invalid_token"
    assert (await refused_connect(circle_server, {"token": expired}))["data"][
        "error"
    ] == "expired_token"
    other = await refused_connect(
        circle_server, {"token": token_of(session["invite_url"]), "session_id": "s_other"}
    )
    assert other["data"] == {
        "error": "invalid_token",
        "message": "This link belongs to another session.",
    }


async def test_bad_requests_get_errors_only_to_their_sender(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    good, bad = Client(), Client()
    await good.connect(circle_server, {"token": token_of(session["facilitator_url"])})
    await bad.connect(circle_server, {"token": token_of(session["invite_url"])})
    try:
        assert (await bad.call("publish", {"sdp": "v=0\r\n" * 3}))["error"] == "not_joined"
        assert (await good.call("join", {"name": "Facilitator"}))["ok"]
        joined = await bad.call("join", {"name": "Blair"})
        assert joined["ok"] and joined["role"] == "participant"
        live = circle_server.live.sessions[session["session_id"]]
        before = {pid: p.public() for pid, p in live.session.participants.items()}

        cases = [
            ("no_such_event", {}, "unknown_event"),
            ("join", {"name": "Again"}, "invalid"),
            ("join", "not an object", "invalid"),
            ("media_state", {"audio": "yes"}, "invalid"),
            ("media_state", {"audio": True, "extra": 1}, "invalid"),
            ("publish", {"sdp": "this is not sdp at all"}, "invalid_sdp"),
            ("publish", {"sdp": "v=0\r\nm=application 9 X 5000\r\n"}, "invalid_sdp"),
            ("publish", {"sdp": "v=0\r\n" + "a=x\r\n" * 20_000}, "invalid"),
            ("subscribe_answer", {"sdp": "v=0\r\nnothing offered yet"}, "invalid"),
            ("subscribe", {"unexpected": True}, "invalid"),
        ]
        for event, data, code in cases:
            reply = await bad.call(event, data)
            assert reply["error"] == code, (event, reply)
            assert reply["message"]
        await asyncio.sleep(0.2)
        assert [e["error"] for e in bad.errors] == ["not_joined"] + [c for _, _, c in cases]
        assert good.errors == []
        after = {pid: p.public() for pid, p in live.session.participants.items()}
        assert after == before
        assert [name for name, _ in good.events].count("participant_left") == 0
    finally:
        await good.sio.disconnect()
        await bad.sio.disconnect()


async def test_event_flood_is_rate_limited(circle_server: RunningServer) -> None:
    session = await circle_server.create_session()
    client = Client()
    await client.connect(circle_server, {"token": token_of(session["invite_url"])})
    try:
        assert (await client.call("join", {"name": "Casey"}))["ok"]
        replies = await asyncio.gather(
            *(client.call("media_state", {"audio": True}) for _ in range(80))
        )
        codes = [r.get("error", "ok") for r in replies]
        assert codes.count("rate_limited") >= 40
        assert codes.count("ok") >= 20
        assert replies[-1]["message"]
    finally:
        await client.sio.disconnect()


async def test_leaving_and_disconnecting_update_the_others(circle_server: RunningServer) -> None:
    session = await circle_server.create_session()
    a, b = Client(), Client()
    await a.connect(circle_server, {"token": token_of(session["invite_url"])})
    await b.connect(circle_server, {"token": token_of(session["invite_url"])})
    try:
        pid_a = (await a.call("join", {"name": "Alex"}))["participant_id"]
        pid_b = (await b.call("join", {"name": "Blair"}))["participant_id"]
        assert (await b.call("media_state", {"video": False}))["ok"]
        assert (await a.call("leave", {}))["ok"]
        await asyncio.sleep(0.3)
        names = [name for name, _ in b.events]
        assert ("participant_left", {"participant_id": pid_a}) in b.events
        assert "participant_updated" in names
        live = circle_server.live.sessions[session["session_id"]]
        assert list(live.session.participants) == [pid_b]
    finally:
        await b.sio.disconnect()
    # Blair's connection dropped: her place is kept while she may come back
    await until(
        lambda: live.session.participants[pid_b].disconnected_at is not None, 5, "reconnecting"
    )


async def test_oversized_message_closes_only_its_own_connection(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    good, bad = Client(), Client()
    await good.connect(circle_server, {"token": token_of(session["invite_url"])})
    await bad.connect(circle_server, {"token": token_of(session["invite_url"])})
    try:
        pid = (await good.call("join", {"name": "Alex"}))["participant_id"]
        assert (await bad.call("join", {"name": "Blair"}))["ok"]
        big = await bad.call("publish", {"sdp": "v=0\r\n" + "a" * 200_000})
        assert big["error"] == "invalid" and "65536" in big["message"]
        await bad.sio.emit("publish", {"sdp": "v=0\r\n" + "a" * 2_000_000})
        async with asyncio.timeout(10):
            while bad.sio.connected:
                await asyncio.sleep(0.05)
        live = circle_server.live.sessions[session["session_id"]]
        async with asyncio.timeout(10):  # the closed one is reconnecting; nobody else is
            while not any(p.disconnected_at for p in live.session.participants.values()):
                await asyncio.sleep(0.05)
        assert live.session.participants[pid].disconnected_at is None
        assert (await good.call("media_state", {"video": False}))["ok"]
        assert good.errors == []
    finally:
        await good.sio.disconnect()
        await bad.sio.disconnect()


async def test_client_stats_are_validated_and_never_change_a_score(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    client = Client()
    await client.connect(circle_server, {"token": token_of(session["invite_url"])})
    try:
        assert (await client.call("client_stats", {"rtt_ms": 20.0}))["error"] == "not_joined"
        pid = (await client.call("join", {"name": "Casey"}))["participant_id"]
        live = circle_server.live.sessions[session["session_id"]]
        assert (await client.call("client_stats", {"rtt_ms": 20.5, "frames_decoded": 10}))["ok"]
        before = live.quality.view(0.0)
        for bad in (
            {"rtt_ms": float("nan")},
            {"rtt_ms": float("inf")},
            {"rtt_ms": -1.0},
            {"frames_decoded": -5},
            {"frame_width": 100_000},
            {"jitter_ms": "10"},
            {"bogus": 1},
        ):
            reply = await client.call("client_stats", bad)
            assert reply["error"] == "invalid", (bad, reply)
        assert live.quality.view(0.0) == before
        assert before[pid]["client"]["rtt_ms"] == 20.5
        assert before[pid]["up"]["score"] is None  # display only: never scored
    finally:
        await client.sio.disconnect()
