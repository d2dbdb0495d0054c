"""Finding 1: a client-sent event named `connect` or `disconnect` must never reach the
server's own lifecycle handlers (ghost participants, a client-chosen `environ`)."""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest
import socketio

from server.socket_server import CircleServer, refusal_of
from tests.clients import Client, token_of
from tests.conftest import RunningServer, until


async def test_client_sent_connect_and_disconnect_are_refused(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session()
    leader, ghost = Client(), Client()
    await leader.connect(circle_server, {"token": token_of(session["facilitator_url"])})
    await ghost.connect(circle_server, {"token": token_of(session["invite_url"])})
    assert (await leader.call("join", {"name": "Lead"}))["ok"]
    assert (await ghost.call("join", {"name": "Ghost"}))["ok"]
    live = circle_server.live.sessions[session["session_id"]]
    for _ in range(3):
        reply = await ghost.call("connect", {})
        assert reply["error"] == "unknown_event"
        assert (await ghost.call("join", {"name": "Again"}))["error"] == "invalid"
    reply = await ghost.call("disconnect", "server disconnect")
    assert reply["error"] == "unknown_event"
    assert len(live.session.participants) == 2  # the reserved events changed nothing
    await ghost.sio.disconnect()
    # the one real participant of that socket is reconnecting (their place lapses after the
    # grace); no other record of it stays connected
    await until(
        lambda: sum(p.disconnected_at is not None for p in live.session.participants.values()) == 1,
        5,
        "the ghost's socket is gone",
    )
    assert len(live.session.participants) == 2
    assert (await leader.call("media_state", {"audio": False}))["ok"]
    await leader.sio.disconnect()
    await until(
        lambda: all(p.disconnected_at for p in live.session.participants.values()),
        5,
        "both sockets gone: both reconnecting, none connected",
    )


@pytest.mark.unit
def test_the_private_hooks_are_still_there() -> None:
    """CircleServer overrides two private methods of the pinned python-socketio."""
    hooks = {
        "_handle_event": ["eio_sid", "namespace", "id", "data"],
        "_handle_eio_message": ["eio_sid", "data"],
    }
    for name, params in hooks.items():
        library = getattr(socketio.AsyncServer, name)
        assert list(inspect.signature(library).parameters)[1:] == params, name
        assert getattr(CircleServer, name) is not library


@pytest.mark.unit
def test_event_names_are_checked_before_dispatch() -> None:
    for bad in (["connect", {}], ["disconnect", "x"], ["__x"], [7], [], "x", ["a" * 41]):
        assert refusal_of(bad) is not None, bad
    assert refusal_of(["join", {1: "x"}]) == {
        "error": "invalid",
        "message": "map keys must be strings, nested at most 32 deep",
    }
    nested: list[object] = []
    for _ in range(40):
        nested = [nested]
    assert refusal_of(["control", nested]) is not None
    assert refusal_of(["join", {"name": "Blair"}]) is None


async def test_odd_event_names_and_integer_map_keys_get_an_answer(
    circle_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    session = await circle_server.create_session()
    client = Client()
    await client.connect(circle_server, {"token": token_of(session["invite_url"])})
    assert (await client.call("join", {1: "x", "name": "Blair"}))["error"] == "invalid"
    assert (await client.call("control", {1: "x"}))["error"] == "invalid"
    assert (await client.call("join", {"name": "Blair"}))["ok"]
    # An event "name" that is not a string, sent as a raw packet.
    answered: list[object] = []
    client.sio.handlers["/"]["error"] = answered.append
    await client.sio._send_packet(
        client.sio.packet_class(2, data=[7, {"a": 1}], namespace="/", id=99)
    )
    await asyncio.sleep(0.3)
    assert client.sio.connected
    assert (await client.call("leave"))["ok"]
    await client.sio.disconnect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
