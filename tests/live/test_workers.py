"""server/live/workers.py: what one round of the quality or speaker worker sends, and to whom."""

from __future__ import annotations

from rooms.model import Role
from rooms.quality import Level, LinkSample
from server.live.session import LiveSession
from server.media.producer import AudioLevel
from tests.live.conftest import Live


async def ann_leads_bo(live: Live) -> tuple[LiveSession, str]:
    """A session with Ann (facilitator, socket "a") and Bo (socket "b"); Bo's id."""
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    return live.registry.sessions["s_1"], bo


async def test_a_poor_upstream_is_told_capped_and_shown_to_leaders_only(live: Live) -> None:
    live_session, bo = await ann_leads_bo(live)
    workers = live.workers
    for i in range(1, 8):  # a third of the packets lost, each 2 s
        at = live.now[0] + 2 * i
        up = LinkSample(at, packets_received=200 * i, packets_lost=100 * i, last_packet_at=at)
        live_session.quality.add(bo, up, None)
    assert live_session.quality.level(bo, "up") is Level.POOR
    live.sio.sent.clear()
    await workers._act_on_quality(live_session, live.now[0] + 16)
    to_bo = [(e, p) for to, e, p in live.sio.sent if to == "b"]
    assert ("my_quality", {"up": "poor", "down": None}) in to_bo
    assert ("quality_advice", {"cap": True, "max_bitrate_kbps": 250, "max_fps": 10}) in to_bo
    assert "quality" not in [e for e, _ in to_bo]
    assert "quality" in live.sio.to("a")
    # the next round changes nothing for Bo: nothing is sent again
    live.sio.sent.clear()
    await workers._act_on_quality(live_session, live.now[0] + 16)
    assert live.sio.to("b") == []


async def test_the_active_speaker_is_told_to_the_room_and_to_its_media_router(
    live: Live,
) -> None:
    live_session, bo = await ann_leads_bo(live)
    workers = live.workers
    for i in range(50):
        live.registry._on_audio_level("s_1", AudioLevel(bo, 20, True, i * 0.02))
    await workers._announce_speakers(live_session, 1.0)
    told = {"participant_id": bo, "room": "main"}
    assert ("a", "active_speaker", told) in live.sio.sent
    assert live_session.router.video.speaker("main") == bo  # its tile at the top layer
    live_session.forget_speaker(bo)
    await workers._announce_speakers(live_session, 1.0)
    assert live_session.router.video.speaker("main") is None


async def test_one_message_to_several_goes_to_each_connected_one_and_none_to_nobody(
    live: Live,
) -> None:
    live_session, bo = await ann_leads_bo(live)
    fanout = live.effects.fanout
    live.sio.sent.clear()
    await fanout.to_each(live_session, [bo, "p_gone"], "active_speaker", {"x": 1})
    assert live.sio.sent == [("b", "active_speaker", {"x": 1})]
    live.sio.sent.clear()
    # nobody connected among them: no message at all (an emit to no address reaches everyone)
    await fanout.to_each(live_session, ["p_gone"], "active_speaker", {"x": 1})
    await fanout.to_each(live_session, [], "active_speaker", {"x": 1})
    assert live.sio.sent == []
