"""A bot's link goes down and comes back (tests/netns/impaired_link.py: the wire is cut, nothing
passes either way): it is the same participant, in the same breakout room, its media flows
both ways again within 10 s of the link's return, and the summary has one row for it whose
attendance shows each time its connection dropped.

A 5 s cut may or may not outlast the socket (the server pings every 4 s and waits 5 s; TCP
retransmits on its own schedule), and aiortc's ICE outlives both cuts (consent expires after
about 30 s). Whatever happened is what is checked: when the socket kept going, a 12 s cut
follows, which the socket cannot survive, so the drop-and-resume path is always taken.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.live.session import LiveSession
from tests.conftest import RunningServer, until
from tests.netns import far_bot
from tests.netns.conftest import run_inside, stop_child
from tests.netns.impaired_link import ImpairedLink

BACK_WITHIN_S = 10.0


class FarBot:
    """The bot in the namespace, as its stats file says."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        return far_bot.read(self.path)

    def heard(self, kind: str, pid: str | None) -> int:
        return int(self.read().get("sources", {}).get(kind, {}).get(pid or "", 0))


class Drops:
    """What the facilitator is told about the far bot: each `participant_reconnecting` is a
    dropped connection (the server's view, not the bot's)."""

    def __init__(self, lead: Bot) -> None:
        self.pid: str | None = None
        self.away = self.back = 0
        lead.sio.on("participant_reconnecting", self._away)
        lead.sio.on("participant_reconnected", self._back)

    async def _away(self, data: dict[str, Any]) -> None:
        self.away += data.get("participant_id") == self.pid

    async def _back(self, data: dict[str, Any]) -> None:
        self.back += data.get("id") == self.pid


async def flowing(mate: Bot, far: FarBot, pid: str, limit_s: float, what: str) -> None:
    """Audio from the far bot reaches its room mate and the mate's reaches the far bot."""
    from_far = mate.received("audio", pid)
    to_far = far.heard("audio", mate.participant_id)
    await until(
        lambda: (
            mate.received("audio", pid) > from_far + 20
            and far.heard("audio", mate.participant_id) > to_far + 20
        ),
        limit_s,
        f"audio both ways {what}: {far.read()}, mate hears {mate.stats().sources}",
    )


async def outage(
    link: ImpairedLink, live: LiveSession, pid: str, mate: Bot, far: FarBot, seconds: float
) -> None:
    """Cut the wire for `seconds`, then: media both ways within BACK_WITHIN_S of its return, and
    still so once any late ping timeout has fired (a drop may come after the cut ends)."""
    link.cut = True
    await asyncio.sleep(seconds)
    link.cut = False
    back = time.monotonic()
    await flowing(mate, far, pid, BACK_WITHIN_S, "after the cut")
    await until(
        lambda: live.session.participants[pid].disconnected_at is None,
        max(0.1, BACK_WITHIN_S - (time.monotonic() - back)),
        "connected again",
    )
    await asyncio.sleep(max(0.0, back + 12.0 - time.monotonic()))  # ping 4 s + timeout 5 s
    await flowing(mate, far, pid, BACK_WITHIN_S, "once settled")
    person = live.session.participants[pid]
    assert person.disconnected_at is None
    assert person.room_id == "b1"
    assert far.read()["participant_id"] == pid
    assert [p.id for p in live.session.participants.values() if p.display_name == "Far"] == [pid]


async def test_a_bot_whose_link_drops_comes_back_as_itself_in_its_room(
    link: ImpairedLink, server_on_link: RunningServer, small_clip: Path, tmp_path: Path
) -> None:
    server = server_on_link
    session = await server.create_session("Outage")
    media = EncodedMedia.load(small_clip, small_clip)
    lead = Bot(session["facilitator_url"], "Lead", media, subscribe=False)
    mate = Bot(session["invite_url"], "Mate", media)
    drops = Drops(lead)
    await lead.start()
    await mate.start()
    far = FarBot(tmp_path / "far.json")
    log = (tmp_path / "far.log").open("wb")  # its warnings, for a failure's post-mortem
    child = await run_inside(
        link,
        ["-m", "tests.netns.far_bot", session["invite_url"], str(far.path), "170", str(small_clip)],
        stderr=log,
    )
    try:
        live = server.live.sessions[session["session_id"]]
        await until(lambda: far.read().get("participant_id"), 30, "the bot in the namespace joins")
        pid = drops.pid = far.read()["participant_id"]
        await lead.request("control", {"action": "breakout_create", "count": 1})
        await lead.request("control", {"action": "breakout_auto_assign", "seed": 1})
        await lead.request(
            "control", {"action": "breakout_open", "duration_s": 600, "return_countdown_s": 0}
        )
        assert live.session.participants[pid].room_id == "b1"
        assert live.session.participants[mate.participant_id or ""].room_id == "b1"
        await flowing(mate, far, pid, 15, "in the breakout room")

        await outage(link, live, pid, mate, far, 5.0)
        if drops.away == 0:  # the socket outlived it: take the drop-and-resume path too
            await outage(link, live, pid, mate, far, 12.0)
            assert drops.away == 1, "a 12 s cut drops the socket (ping 4 s, timeout 5 s)"
        assert drops.back == drops.away == far.read()["resumes"]

        await stop_child(child)
        await mate.leave()
        await lead.leave()
        await until(lambda: live.empty_since is not None, 15, "everyone has left")
        summary = await server.api_get(f"/api/sessions/{session['session_id']}/summary")
        rows = [p for p in summary["participants"] if p["name"] == "Far"]
        assert [r["id"] for r in rows] == [pid], "one row for the same person"
        spans = rows[0]["attendance"]["spans"]
        assert len(spans) == 1 + drops.away, spans
        gap = spans[1][0] - spans[0][1]
        assert 1.0 < gap < 30.0, f"the time away is a gap in the attendance: {spans}"
    finally:
        await stop_child(child)
        log.close()
        await mate.close()
        await lead.close()
