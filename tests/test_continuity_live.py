"""Continuity over real sockets: a join storm, a socket that drops and comes back as the same
person, a session everyone leaves and comes back to."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.clients import Client, token_of
from tests.conftest import RunningServer, until


async def test_a_join_storm_fills_the_seats_exactly_and_refuses_the_rest_cleanly(
    circle_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    session = await circle_server.create_session()
    seats = circle_server.settings.max_participants
    clients = [Client() for _ in range(seats + 4)]
    auth = {"token": token_of(session["invite_url"])}
    await asyncio.gather(*(c.connect(circle_server, auth) for c in clients))

    async def join(i: int, client: Client) -> dict[str, Any]:
        return await client.call("join", {"name": f"Person {i}"})

    try:
        replies = await asyncio.gather(*(join(i, c) for i, c in enumerate(clients)))
        joined = [r for r in replies if r.get("ok")]
        refused = [r for r in replies if not r.get("ok")]
        assert len(joined) == seats
        assert [r["error"] for r in refused] == ["full"] * 4
        live = circle_server.live.sessions[session["session_id"]]
        assert len(live.session.participants) == seats
        # half of them drop at once, racing nothing but each other: places are kept
        await asyncio.gather(*(c.sio.disconnect() for c in clients[: seats // 2]))
        await until(
            lambda: (
                sum(p.disconnected_at is not None for p in live.session.participants.values())
                == seats // 2
            ),
            5,
            "the dropped are away, not gone",
        )
        assert len(live.session.participants) == seats
    finally:
        await asyncio.gather(*(c.sio.disconnect() for c in clients))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_dropped_socket_comes_back_as_the_same_person(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    auth = {"token": token_of(session["invite_url"])}
    lead, first, again = Client(), Client(), Client()
    await lead.connect(circle_server, {"token": token_of(session["facilitator_url"])})
    await first.connect(circle_server, auth)
    try:
        assert (await lead.call("join", {"name": "Lead"}))["ok"]
        joined = await first.call("join", {"name": "Bo"})
        await first.call("control", {"action": "raise_hand"})
        await first.sio.disconnect()
        await until(
            lambda: any(e == "participant_reconnecting" for e, _ in lead.events),
            5,
            "lead sees away",
        )
        assert not any(e == "participant_left" for e, _ in lead.events)
        await again.connect(circle_server, auth)
        back = await again.call("join", {"name": "Bo", "rejoin_key": joined["rejoin_key"]})
        assert back["resumed"] is True
        assert back["participant_id"] == joined["participant_id"]
        assert back["me"]["hand"] is True
        await until(
            lambda: any(e == "participant_reconnected" for e, _ in lead.events), 5, "lead sees back"
        )
    finally:
        for client in (lead, first, again):
            await client.sio.disconnect()


async def test_everyone_leaves_and_comes_back_and_the_summary_holds_both(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    sid = session["session_id"]
    auth = {"token": token_of(session["invite_url"])}
    first_ids: list[str] = []
    key: dict[str, str] = {}  # the page keeps the key its first join was given
    for _ in range(2):
        client = Client()
        await client.connect(circle_server, auth)
        reply = await client.call("join", {"name": "Ann", **key})
        key = {"rejoin_key": reply["rejoin_key"]}
        first_ids.append(reply["participant_id"])
        await asyncio.sleep(0.3)
        assert (await client.call("leave"))["ok"]
        await client.sio.disconnect()
        await until(lambda: circle_server.live.sessions[sid].empty_since is not None, 5, "empty")
    assert first_ids[0] == first_ids[1]  # the same person, the same row
    summary = circle_server.live.summary(sid)
    assert summary is not None
    (person,) = [p for p in summary["participants"] if p["id"] == first_ids[0]]
    assert len(person["attendance"]["spans"]) == 2
