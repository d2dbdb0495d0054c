"""Facilitator controls through the real server with real bots: mute is enforced on the
forwarding path, a participant cannot act above their role, removal takes media away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia
from server.web import STORE
from tests.conftest import RunningServer, until

pytestmark = pytest.mark.usefixtures("loopback_ice")


@contextlib.asynccontextmanager
async def lead_and_two(
    server: RunningServer, media: EncodedMedia
) -> AsyncIterator[tuple[str, Bot, Bot, Bot]]:
    """A session id, and its facilitator and two participants, all sending and receiving."""
    session = await server.create_session()
    bots = [
        Bot(session["facilitator_url"], "Lead", media),
        Bot(session["invite_url"], "Blair", media),
        Bot(session["invite_url"], "Casey", media),
    ]
    try:
        for bot in bots:
            await bot.start()
        for bot in bots:
            await bot.wait_connected()
        blair, casey = bots[1], bots[2]
        await until(lambda: casey.received("audio", blair.participant_id) > 10, 10, "audio")
        yield session["session_id"], bots[0], blair, casey
    finally:
        for bot in bots:
            await bot.close()


async def test_mute_stops_forwarding_and_roles_are_enforced(
    circle_server: RunningServer, small_media: EncodedMedia
) -> None:
    async with lead_and_two(circle_server, small_media) as (session_id, lead, blair, casey):
        # a participant trying a facilitator action: refused, nothing changes
        with pytest.raises(BotError, match="forbidden"):
            await casey.request("control", {"action": "mute", "target": lead.participant_id})
        with pytest.raises(BotError, match="invalid"):
            await lead.request("control", {"action": "mute"})
        live = circle_server.live.sessions[session_id]
        assert live.session.participants[lead.participant_id].audio_on

        await lead.request("control", {"action": "mute", "target": blair.participant_id})
        await until(lambda: not live.session.participants[blair.participant_id].audio_on, 1, "m")
        await asyncio.sleep(0.5)  # packets already in flight
        frozen = casey.received("audio", blair.participant_id)
        lead_audio = casey.received("audio", lead.participant_id)
        await asyncio.sleep(1.0)
        assert casey.received("audio", blair.participant_id) == frozen
        assert casey.received("audio", lead.participant_id) > lead_audio  # others unaffected
        assert casey.received("video", blair.participant_id) > 0

        # only Blair can unmute Blair
        await blair.request("media_state", {"audio": True})
        await until(
            lambda: casey.received("audio", blair.participant_id) > frozen + 5, 3, "unmuted"
        )

        await lead.request(
            "control", {"action": "remove", "target": casey.participant_id, "block": True}
        )
        await until(lambda: casey.participant_id not in live.router.participants, 3, "removed")
        await until(lambda: not casey.sio.connected, 5, "removed socket closed")
        await until(
            lambda: all(slot["participant_id"] != casey.participant_id for slot in blair.slots),
            3,
            "Casey's media is gone from Blair's slots",
        )
        assert casey.participant_id not in live.session.participants

        store = circle_server.app[STORE]
        audit = await store.audit_of_session(session_id)
        assert [(e.actor_id, e.action, e.target_id, e.outcome) for e in audit] == [
            (casey.participant_id, "mute", lead.participant_id, "forbidden"),
            (lead.participant_id, "mute", None, "invalid"),
            (lead.participant_id, "mute", blair.participant_id, "ok"),
            (lead.participant_id, "remove", casey.participant_id, "ok"),
        ]
        assert audit[0].actor_role == "participant" and audit[2].actor_role == "facilitator"


async def test_help_reaches_only_leaders_and_a_private_room_moves_only_media(
    circle_server: RunningServer, small_media: EncodedMedia
) -> None:
    async with lead_and_two(circle_server, small_media) as (_, lead, blair, casey):
        bots = [lead, blair, casey]
        heard: dict[str, list[str]] = {bot.name: [] for bot in bots}
        for bot in bots:
            bot.sio.on("*", lambda event, data, name=bot.name: heard[name].append(event))
        publish_pcs = [bot.publish_pc for bot in bots]

        await blair.request("control", {"action": "help"})
        await until(lambda: "help_requested" in heard["Lead"], 2, "the lead is alerted")
        await lead.request("control", {"action": "private_room", "target": blair.participant_id})
        await until(lambda: "room_changed" in heard["Blair"], 2, "Blair is told where she is")
        await asyncio.sleep(0.5)  # packets in flight and the slot switch
        from_blair = casey.received("audio", blair.participant_id)
        from_lead = casey.received("audio", lead.participant_id)
        lead_to_blair = blair.received("audio", lead.participant_id)
        casey_to_blair = blair.received("audio", casey.participant_id)
        await asyncio.sleep(1.0)
        # the two in the private room hear each other (bounded: a loaded machine is slower)...
        await until(
            lambda: blair.received("audio", lead.participant_id) > lead_to_blair + 20,
            5,
            "Blair hears the lead in the private room",
        )
        # ...and nobody else, in either direction, for all that time (a second or more)
        assert casey.received("audio", blair.participant_id) == from_blair
        assert casey.received("audio", lead.participant_id) == from_lead
        assert blair.received("audio", casey.participant_id) == casey_to_blair

        await lead.request("control", {"action": "return_to_main", "target": blair.participant_id})
        await until(
            lambda: casey.received("audio", blair.participant_id) > from_blair + 20, 3, "back"
        )
        assert [bot.publish_pc for bot in bots] == publish_pcs  # no new peer connection
        assert "help_requested" not in heard["Casey"] and "help_requested" not in heard["Blair"]
        assert "room_changed" not in heard["Casey"]
