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


async def test_levels_are_timed_by_their_rtp_time_so_a_stall_neither_splits_nor_delays(
    live: Live,
) -> None:
    await live.session()
    await live.join("a", "Ann", Role.FACILITATOR)
    bo = await live.join("b", "Bo")
    engagement = live.registry.sessions["s_1"].engagement
    start = live.now[0]
    mono = 500.0  # the producers' monotonic clock: media time mono + t was spoken at start + t
    # Bo speaks for 3 s (packets every 20 ms, levels moving like speech); the server stalls
    # from 1.0 s to 2.5 s, then the packets sent meanwhile arrive in one burst.
    for i in range(150):
        spoken = i * 0.02
        arrives = spoken if spoken < 1.0 or spoken >= 2.5 else 2.5 + (spoken - 1.0) / 100
        live.now[0] = start + arrives
        if i == 50:  # the first packet after the stall: the speaking check runs first,
            # woken 1.4 s late (server/live/workers.py), while the burst is still queued
            live.registry.behind.note(1.4, live.now[0])
            engagement.tick(live.now[0] - live.registry.behind.value(live.now[0]))
        level = 35 if i % 10 < 5 else 25  # opens soft, then rises (a first syllable)
        live.registry._on_audio_level(
            "s_1", AudioLevel(bo, level, True, mono + arrives, mono + spoken)
        )
    live.now[0] = start + 4.0
    engagement.tick(live.now[0] - live.registry.behind.value(live.now[0]))
    turns = engagement.utterances(bo)
    assert [(round(u.start - start, 2), round(u.end - start, 2)) for u in turns] == [(0.0, 3.0)]
