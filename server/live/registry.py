"""The registry of running sessions: made on the first join, each with its own media router;
gone when everyone has left or the session ends. Also the read-only view the REST API has of
live sessions (server/web.py: LiveView)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from rooms.crisis_state import SafetyInfo
from rooms.model import Session
from rooms.persistence import restore_session, session_state
from rooms.speaker import ActiveSpeaker
from server.background import BackgroundTasks
from server.config import Settings
from server.live.fanout import Fanout
from server.live.reports import engagement_report, summary_of
from server.live.session import LiveSession
from server.media.participant import Slot
from server.media.peer_setup import MADE_PEER_CONNECTIONS
from server.media.producer import AudioLevel
from server.media.router import MediaRouter
from server.media.stats import ForwardingStats
from server.store import SessionRecord, Store, SummaryRecord

log = logging.getLogger(__name__)

ParticipantHandler = Callable[[str, str], Awaitable[None]]  # (session id, participant id)


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
        # A lock lives while someone holds or waits for it: no lock outlives its use.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.stopping = False  # set at shutdown: dropped connections do not end summaries
        # Who handles a participant whose media failed: the effects (server/live/effects.py),
        # which are made with this registry and so are set after it.
        self.on_media_failed: ParticipantHandler | None = None
        self._background = BackgroundTasks()  # work started by the routers' callbacks
        self.behind = Behind()  # how late audio reaches the engagement engine

    def lock(self, session_id: str) -> asyncio.Lock:
        """Held by whatever changes a session (a join, a control, a disconnect, a worker's
        tick), so that each change and its messages complete before the next begins."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    def get(self, session_id: str) -> LiveSession | None:
        return self.sessions.get(session_id)

    async def open(self, record: SessionRecord) -> LiveSession:
        """The running session of this record, made with its router on first use: restored
        from its saved state when it was running elsewhere (another process of a cluster, or
        this one before a restart); a session that ran before (everyone left long ago) goes on
        from its stored summary."""
        live = self.sessions.get(record.id)
        if live is None:
            state = await self.store().get_live_state(record.id)
            restored = None if state is None else await self._restore(record, state)
            if restored is not None:
                return restored
            stored = await self.store().get_summary(record.id)
            session = Session(
                record.id,
                record.title,
                self.clock(),
                max_participants=self.settings.max_participants,
                waiting_room=record.waiting_room,
                safety_check=record.safety_check,
            )
            live = self._make(record, session, stored.data if stored else None)
        return live

    def _make(
        self, record: SessionRecord, session: Session, summary_base: dict[str, Any] | None
    ) -> LiveSession:
        sid = record.id
        router = self.router_class(
            self.settings.media,
            self.stats,
            on_slots=lambda pid, slots: self._background.spawn(self._send_slots(sid, pid, slots)),
            on_audio_level=lambda level: self._on_audio_level(sid, level),
            on_failed=lambda pid: self._background.spawn(self._media_failed(sid, pid)),
            on_video_watched=lambda pid, rids: self._background.spawn(
                self._send_to(sid, pid, "video_watched", {"watched": bool(rids), "rids": rids})
            ),
            on_held_back=lambda pid, publishers: self._background.spawn(
                self._send_to(sid, pid, "video_held_back", {"publishers": sorted(publishers)})
            ),
        )
        live = LiveSession(session, router, record, summary_base=summary_base)
        self.sessions[sid] = live
        return live

    async def restore(self) -> None:
        """At start-up: every session that was running when the server stopped (or died)
        comes back as it was at its last save; its people are reconnecting, and their pages
        resume them in their rooms."""
        store = self.store()
        for session_id, state in await store.live_states():
            record = await store.get_session(session_id)
            if record is None or record.ended_at is not None:
                await store.delete_live_state(session_id)
                continue
            await self._restore(record, state)

    async def _restore(self, record: SessionRecord, state: dict[str, Any]) -> LiveSession | None:
        """A session running again from its saved state (None if the state cannot be read)."""
        now = self.clock()
        try:
            session = restore_session(state)
        except (ValueError, TypeError, KeyError):
            log.warning("session %s: its saved state cannot be read; not restored", record.id)
            return None
        stored = await self.store().get_summary(record.id)
        live = self._make(record, session, stored.data if stored else None)
        live.restored = True
        live.invite_ids = dict(state.get("invite_ids", {}))
        live.leaders = dict(state.get("leaders", {}))
        for person in list(session.participants.values()):
            if not person.admitted:
                del session.participants[person.id]  # the waiting knock again
                continue
            person.disconnected_at = person.disconnected_at or now
            live.router.add(person.id, person.room_id, person.stepped_away)
        if not session.participants:
            live.empty_since = now
        await self._recall_safety(session)
        log.info("session %s restored with %d people", record.id, len(session.participants))
        return live

    async def _recall_safety(self, session: Session) -> None:
        """The safety checks of people in a running crisis response, from their records: the
        saved state never holds them, and a page that moved here does not send them again;
        the leaders keep seeing where the person is and whom to call."""
        active = {c.id: c.participant_id for c in session.crises if c.active}
        for stored in await self.store().crises_of_session(session.id):
            pid, safety = active.get(stored.crisis_id), stored.data.get("safety")
            if pid is not None and pid in session.participants and isinstance(safety, dict):
                session.safety.setdefault(pid, SafetyInfo.from_payload(safety))

    async def save_state(self, live: LiveSession) -> None:
        """What must survive a restart (rooms.persistence), after each change and each flush."""
        if self.sessions.get(live.session.id) is not live:
            return  # finished: nothing to keep
        state = {
            **session_state(live.session),
            "invite_ids": live.invite_ids,
            "leaders": live.leaders,
        }
        await self.store().put_live_state(live.session.id, state, self.clock())

    async def finish(self, live: LiveSession, *, final: bool) -> None:
        """The session stops running here: its summary is stored, its media closed. Unless
        it is final (ended, or empty for a while), its state is kept for a restart."""
        await self.save_summary(live, final=final)
        if final:
            live.session.safety.clear()  # the safety checks end with the session (docs/crisis.md)
            await self.store().delete_live_state(live.session.id)
        else:
            await self.save_state(live)
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

    async def let_go(self, live: LiveSession) -> None:
        """The session runs on another process now (it took the session over): its media
        here closes, and nothing is saved over what the new owner keeps."""
        if self.sessions.get(live.session.id) is live:
            await live.router.close()
            del self.sessions[live.session.id]

    async def close(self) -> None:
        """At shutdown: every session is kept as it was, mid-session (not final)."""
        for live in list(self.sessions.values()):
            await self.finish(live, final=False)
        self._background.cancel_all()

    # -- media events ---------------------------------------------------------------------

    async def _send_slots(self, session_id: str, pid: str, slots: list[Slot]) -> None:
        await self._send_to(session_id, pid, "slots", {"slots": [slot_json(s) for s in slots]})

    async def _send_to(self, session_id: str, pid: str, event: str, body: dict[str, Any]) -> None:
        live = self.sessions.get(session_id)
        if live is not None:
            await self.fanout.to(live, pid, event, body)

    def _on_audio_level(self, session_id: str, level: AudioLevel) -> None:
        live = self.sessions.get(session_id)
        if live is None:
            return
        participant = live.session.participants.get(level.participant_id)
        if participant is None or not participant.audio_on:
            return  # muted time never counts as speaking
        speaker = live.speakers.get(participant.room_id)
        if speaker is None:  # not setdefault: it would build a detector for every packet
            speaker = live.speakers[participant.room_id] = ActiveSpeaker()
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

    def unwatched_publishers(self) -> int:
        """Publishers whose camera no subscriber watches (last-N): told to stop encoding."""
        return sum(len(live.router.video.unwatched) for live in self.sessions.values())

    def link_levels(self) -> dict[tuple[str, str], int]:
        """(direction, level) -> how many participants with media have it ("unknown" before
        their link is first judged)."""
        found: Counter[tuple[str, str]] = Counter()
        for live in self.sessions.values():
            for pid in list(live.router.participants):
                for direction in ("up", "down"):
                    found[(direction, live.quality.level(pid, direction) or "unknown")] += 1
        return dict(found)

    def objects(self) -> dict[str, int]:
        """What running sessions hold, counted (for a soak run: these must not grow while
        people come and go, and must fall to zero when the sessions are over)."""
        lives = list(self.sessions.values())
        media = [m for live in lives for m in live.router.participants.values()]
        pcs = [pc for m in media for pc in (m.publish_pc, m.subscribe_pc) if pc is not None]
        people = [p for live in lives for p in live.engagement.people.values()]
        return {
            "peer_connections": len(pcs),
            "peer_connections_open": sum(
                pc.connectionState != "closed" for pc in list(MADE_PEER_CONNECTIONS)
            ),
            "producers": sum(len(m.all_producers()) for m in media),
            "consumers": sum(len(c) for m in media for c in m.slots.values()),
            "sockets": sum(len(live.sids) for live in lives),
            "remembered": sum(len(live.session.returning_ids) for live in lives),
            "engagement_people": len(people),
            "utterances": sum(len(p.utterances) for p in people),
            "quality_people": sum(len(live.quality.people) for live in lives),
            "alerts": sum(len(live.alert_log) for live in lives),
            "locks": len(self._locks),
            "background": len(self._background),
        }


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
