"""server/live/registry.py: one live session per record, the REST view, muted levels."""

from __future__ import annotations

from rooms.model import Role
from server.media.producer import AudioLevel
from server.store import SessionRecord
from tests.live.conftest import Live


async def test_one_live_session_per_record_and_counts(live: Live) -> None:
    record = SessionRecord("s_9", "Group", None, None, False, None, live.now[0])
    await live.store.add_session(record)
    first = await live.registry.open(record)
    assert await live.registry.open(record) is first
    assert live.registry.counts() == (1, 0)
    assert live.registry.summary("s_unknown") is None
    assert live.registry.engagement("s_unknown") is None
    summary = live.registry.summary("s_9")
    assert summary is not None and summary["in_progress"] is True


async def test_a_muted_persons_levels_never_count(live: Live) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    live_session = live.registry.sessions["s_1"]
    await live.send("b", "media_state", {"audio": False})
    for i in range(50):
        live.registry._on_audio_level("s_1", AudioLevel(bo, 20, True, i * 0.02))
    assert live_session.speakers.get("main") is None or not live_session.speakers["main"].current(
        1.0
    )
