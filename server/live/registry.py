"""The registry of running sessions: made on the first join, each with its own media router;
gone when everyone has left or the session ends. Also the read-only view the REST API has of
live sessions (server/web.py: LiveView)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rooms.model import Session
from rooms.speaker import ActiveSpeaker
from server.background import BackgroundTasks
from server.config import Settings
from server.live.fanout import Fanout
from server.live.reports import engagement_report, summary_of
from server.live.session import LiveSession
from server.media.producer import AudioLevel
from server.media.router import MediaRouter, Slot
from server.media.stats import ForwardingStats
from server.store import SessionRecord, Store, SummaryRecord

log = logging.getLogger(__name__)

Departure = Callable[[str, str], Awaitable[None]]  # (session id, participant id)


class LiveSessions:
    def __init__(
        self,
        settings: Settings,
        stats: ForwardingStats,
        store: Callable[[], Store],
        fanout: Fanout,
        clock: Callable[[], float],
        router_class: type[MediaRouter] = MediaRouter,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.store = store  # opened by the app after this object is made
        self.fanout = fanout
        self.clock = clock
        self.router_class = router_class
        self.sessions: dict[str, LiveSession] = {}
        self.stopping = False  # set at shutdown: dropped connections do not end summaries
        # Who handles a participant whose media failed: the effects (server/live/effects.py),
        # which are made with this registry and so are set after it.
        self.on_media_failed: Departure | None = None
        self._background = BackgroundTasks()  # work started by the routers' callbacks
        self.behind = Behind()  # how late audio reaches the engagement engine

    def get(self, session_id: str) -> LiveSession | None:
        return self.sessions.get(session_id)

    def open(self, record: SessionRecord) -> LiveSession:
        """The running session of this record, made with its router on first use."""
        live = self.sessions.get(record.id)
        if live is None:
            session = Session(
                record.id,
                record.title,
                self.clock(),
                max_participants=self.settings.max_participants,
                waiting_room=record.waiting_room,
            )
            sid = record.id
            router = self.router_class(
                self.settings.media,
                self.stats,
                on_slots=lambda pid, slots: self._background.spawn(
                    self._send_slots(sid, pid, slots)
                ),
                on_audio_level=lambda level: self._on_audio_level(sid, level),
                on_failed=lambda pid: self._background.spawn(self._media_failed(sid, pid)),
            )
            live = LiveSession(session, router, record)
            self.sessions[record.id] = live
        return live

    async def finish(self, live: LiveSession, *, final: bool) -> None:
        """The session stops running here: its summary is stored, its media closed."""
        await self.save_summary(live, final=final)
        await live.router.close()
        self.sessions.pop(live.session.id, None)

    async def save_summary(self, live: LiveSession, *, final: bool) -> None:
        now = self.clock()
        await self.store().put_summary(
            SummaryRecord(
                live.session.id,
                live.record.group_id,
                summary_of(live, now, final=final),
                now,
                final,
            )
        )

    async def close(self) -> None:
        """At shutdown: every session is kept as it was, mid-session (not final)."""
        for live in list(self.sessions.values()):
            await self.finish(live, final=False)
        self._background.cancel_all()

    # -- media events ---------------------------------------------------------------------

    async def _send_slots(self, session_id: str, pid: str, slots: list[Slot]) -> None:
        live = self.sessions.get(session_id)
        if live is not None:
            await self.fanout.to(live, pid, "slots", {"slots": [slot_json(s) for s in slots]})

    def _on_audio_level(self, session_id: str, level: AudioLevel) -> None:
        live = self.sessions.get(session_id)
        if live is None:
            return
        participant = live.session.participants.get(level.participant_id)
        if participant is None or not participant.audio_on:
            return  # muted time never counts as speaking
        speaker = live.speakers.setdefault(participant.room_id, ActiveSpeaker())
        speaker.add(level.participant_id, level.level, level.voice, level.at)
        # Timed by when the audio began (its RTP timestamp), not when it arrived: a packet
        # held up by the network or a busy server counts where it was spoken.
        now = self.clock()
        late = 0.0 if level.media_at is None else max(0.0, level.at - level.media_at)
        self.behind.note(late, now)
        live.engagement.level(level.participant_id, level.level, now - late, level.voice)

    async def _media_failed(self, session_id: str, pid: str) -> None:
        if self.on_media_failed is not None:
            await self.on_media_failed(session_id, pid)

    # -- the REST API's view (server/web.py: LiveView) ------------------------------------

    def summary(self, session_id: str) -> dict[str, Any] | None:
        live = self.sessions.get(session_id)
        return summary_of(live, self.clock(), final=False) if live else None

    def engagement(self, session_id: str) -> dict[str, Any] | None:
        live = self.sessions.get(session_id)
        return engagement_report(live, self.clock()) if live else None

    def counts(self) -> tuple[int, int]:
        """Running sessions and the participants in them."""
        people = sum(len(live.session.participants) for live in self.sessions.values())
        return len(self.sessions), people


class Behind:
    """How far behind real time the audio heard so far may be: the largest lateness of packets
    (arrival after their RTP time) and of the event loop (a worker waking late, while packets
    queue) in the last `memory_s`. Speech is ended by the clock only once its pause has lasted
    the hangover plus this, so audio still on its way cannot split a turn."""

    def __init__(self, memory_s: float = 2.0) -> None:
        self.memory_s = memory_s
        self._late = 0.0
        self._at = -1e18

    def note(self, late_s: float, now: float) -> None:
        if late_s >= self._late or now - self._at > self.memory_s:
            self._late, self._at = late_s, now

    def value(self, now: float) -> float:
        return self._late if now - self._at <= self.memory_s else 0.0


def slot_json(slot: Slot) -> dict[str, Any]:
    return {"mid": slot.mid, "kind": slot.kind, "participant_id": slot.participant_id}
