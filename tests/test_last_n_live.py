"""Last-N with real aiortc bots through the real server: a bot that reports a view gets video
only from the publishers it shows and audio from everyone; a publisher nobody watches is told
(`video_watched`), and told again when someone looks; a bad `view` is refused to its sender and
changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.harness import everyone_hears_everyone
from server.bot.client import Bot
from server.bot.media import EncodedMedia
from tests.clients import snapshot, start_bots
from tests.conftest import RunningServer, until
from tests.test_metrics import samples, value

pytestmark = pytest.mark.usefixtures("loopback_ice")


def view(*bots: Bot) -> dict[str, Any]:
    return {
        "tiles": [{"participant_id": b.participant_id, "width": 320, "height": 240} for b in bots]
    }


def video_from(bot: Bot) -> set[str]:
    return {s["participant_id"] for s in bot.slots if s["kind"] == "video" and s["participant_id"]}


def watched(bot: Bot) -> bool:
    """As the server last told the bot (a camera is watched until told otherwise)."""
    return bot.video_watched[-1] if bot.video_watched else True


def grew(bot: Bot, before: dict[tuple[str, str], int], kind: str, other: Bot) -> int:
    pid = other.participant_id or ""
    return bot.received(kind, pid) - before[(kind, pid)]


async def test_a_view_selects_video_and_the_unwatched_publisher_is_told(
    circle_server: RunningServer, small_media: EncodedMedia
) -> None:
    session = await circle_server.create_session()
    bots = await start_bots(session["invite_url"], small_media, ["A", "B", "C", "D", "E"])
    a, b, c, d, e = bots
    try:
        await until(lambda: everyone_hears_everyone(bots), 15, "everyone hears everyone")
        told = {bot.name: len(bot.video_watched) for bot in bots}  # A was alone at first
        assert all(watched(bot) for bot in bots)
        assert await a.request("view", view(b, c)) == {"ok": True}
        await until(lambda: video_from(a) == {b.participant_id, c.participant_id}, 5, "A's slots")
        await asyncio.sleep(0.5)  # packets sent before the switch have arrived
        before = snapshot(bots)[a.name]
        await asyncio.sleep(2.0)
        for other in (b, c, d, e):
            assert grew(a, before, "audio", other) > 0, f"A hears {other.name}"
        assert grew(a, before, "video", b) > 0 and grew(a, before, "video", c) > 0
        assert grew(a, before, "video", d) == 0 and grew(a, before, "video", e) == 0
        assert all(len(bot.video_watched) == told[bot.name] for bot in bots)  # still watched

        for bot, shown in ((b, (a,)), (c, (a, b)), (d, (a, b, c))):
            assert await bot.request("view", view(*shown)) == {"ok": True}
        await until(lambda: e.video_watched[told["E"] :] == [False], 5, "E told nobody watches")
        assert all(len(bot.video_watched) == told[bot.name] for bot in (a, b, c, d))
        assert circle_server.live.unwatched_publishers() == 1
        assert value(await samples(circle_server), "circle_unwatched_publishers") == 1

        live = circle_server.live.sessions[session["session_id"]]
        kept = live.router.video.view_of(a.participant_id or "")
        a_errors = len(a.errors)
        bad: list[Any] = [
            {"tiles": [{"participant_id": b.participant_id, "width": -1, "height": 240}]},
            {"tiles": [{"participant_id": "p_x", "width": 1, "height": 1}] * 65},
            {"tiles": [{"participant_id": "../../x", "width": 1, "height": 1}]},
            {"tiles": "all"},
            {"tiles": [], "extra": True},
            ["tiles"],
        ]
        for body in bad:
            reply = await a.sio.call("view", body, timeout=10)
            assert set(reply) == {"error", "message"} and reply["error"] == "invalid", reply
        await until(lambda: len(a.errors) == a_errors + len(bad), 5, "an error event each")
        assert all(error["event"] == "view" for error in a.errors[a_errors:])
        assert all(bot.errors == [] for bot in (b, c, d, e))  # to the sender only
        assert live.router.video.view_of(a.participant_id or "") == kept
        assert video_from(a) == {b.participant_id, c.participant_id}

        assert await d.request("view", view(e, a)) == {"ok": True}
        await until(
            lambda: e.video_watched[told["E"] :] == [False, True], 5, "E told D watches again"
        )
        before = snapshot(bots)[d.name]
        await until(lambda: grew(d, before, "video", e) > 0, 5, "D receives E's video")
        assert circle_server.live.unwatched_publishers() == 0
    finally:
        for bot in bots:
            await bot.close()
