"""socket.io signalling: validates client events, applies them to the domain and the media
router, and turns domain and media events into messages."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms import breakouts, controls
from rooms.engagement import Engagement
from rooms.model import MAIN_ROOM, DomainEvent, RoomChanged, Session, SessionError
from rooms.quality import Level, QualityMonitor
from rooms.speaker import ActiveSpeaker
from rooms.summary import SessionFacts, build_summary
from rooms.validation import describe
from server import accounts
from server.background import BackgroundTasks
from server.config import Settings
from server.media.producer import AudioLevel
from server.media.router import MediaError, MediaRouter, Slot, ice_server
from server.media.stats import ForwardingStats
from server.store import AuditEntry, AuditOutcome, SessionRecord, Store, SummaryRecord
from server.tokens import SessionGrant, TokenError, verify

log = logging.getLogger(__name__)

SPEAKER_INTERVAL_S = 0.2
BREAKOUT_TICK_S = 0.25
ENGAGEMENT_SPEAKING_S = 0.1  # the speaking indicator reacts within about this
ENGAGEMENT_METRICS_S = 1.0
QUALITY_INTERVAL_S = 2.0
SUMMARY_FLUSH_S = 5.0
DISCONNECT_GRACE_S = 0.5
ENGAGEMENT_ALERTS = frozenset({"dominating", "silent", "silent_poor_connection"})
QUALITY_ALERTS = frozenset({"connection_poor", "connection_lost"})
CAPPED_VIDEO = {
    "max_bitrate_kbps": 250,
    "max_fps": 10,
}  # asked of a publisher whose upstream is poor
RATE_PER_S = 10.0  # sustained client events per second per connection
RATE_BURST = 30.0


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class JoinRequest(_Request):
    name: str = Field(min_length=1, max_length=60)
    # The pre-join screen's choice: False means "do not measure my speaking time".
    measure: bool = True
    # The page's own random secret for this session: back in without knocking after a drop.
    rejoin_key: str | None = Field(default=None, min_length=16, max_length=64)


class SdpRequest(_Request):
    sdp: str = Field(min_length=10, max_length=65_536)


class EmptyRequest(_Request):
    pass


class ClientStats(_Request):
    """What a page measures itself (getStats), every few seconds. Shown to leaders only as
    the participant's own view; never used for a score or a decision."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    frames_decoded: int | None = Field(default=None, ge=0, le=10**9)
    freezes: int | None = Field(default=None, ge=0, le=10**6)
    frame_width: int | None = Field(default=None, ge=0, le=8192)
    frame_height: int | None = Field(default=None, ge=0, le=8192)
    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    available_outgoing_kbps: float | None = Field(default=None, ge=0, le=1_000_000)
    packets_lost: int | None = Field(default=None, ge=0, le=10**9)
    jitter_ms: float | None = Field(default=None, ge=0, le=60_000)


class MediaStateRequest(_Request):
    audio: bool | None = None
    video: bool | None = None


Reply = dict[str, Any]
R = TypeVar("R", bound=_Request)


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse(model: type[R], data: Any) -> R:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RequestError("invalid", "the event body must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestError("invalid", describe(exc)) from exc


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class LiveSession:
    session: Session
    router: MediaRouter
    record: SessionRecord
    speakers: dict[str, ActiveSpeaker] = field(default_factory=dict)  # per room
    sids: dict[str, str] = field(default_factory=dict)  # participant id -> socket id
    announced_speakers: dict[str, str | None] = field(default_factory=dict)  # per room
    engagement: Engagement = field(default_factory=Engagement)
    quality: QualityMonitor = field(default_factory=QualityMonitor)
    told_quality: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    capped: set[str] = field(default_factory=set)  # publishers asked to send less
    held_video: dict[str, frozenset[str]] = field(default_factory=dict)  # subscriber -> kept
    announced_quality_alerts: frozenset[tuple[str, str]] = frozenset()
    announced_speaking: frozenset[str] = frozenset()  # who the leaders were last told speaks
    # For the summary: who came with which personal invite, who led (with credentials), and
    # every alert raised (engagement and quality), with when.
    invite_ids: dict[str, str] = field(default_factory=dict)
    leaders: dict[str, dict[str, str]] = field(default_factory=dict)
    alert_log: list[dict[str, Any]] = field(default_factory=list)
    logged_alerts: set[tuple[str, str]] = field(default_factory=set)

    def log_alerts(self, source: frozenset[str], holding: set[tuple[str, str]], at: float) -> None:
        """Remember each alert once per time it starts to hold. `source` is every kind the
        caller can raise, so its alerts that stopped holding are forgotten."""
        for kind, pid in sorted(holding - self.logged_alerts):
            self.alert_log.append({"kind": kind, "participant_id": pid, "at": at})
        stopped = {key for key in self.logged_alerts if key[0] in source} - holding
        self.logged_alerts = (self.logged_alerts - stopped) | holding

    def forget_speaker(self, pid: str) -> None:
        for speaker in self.speakers.values():
            speaker.remove(pid)

    def room(self, room_id: str = MAIN_ROOM) -> str:
        return f"{self.session.id}/{room_id}"


@dataclass
class Connection:
    grant: SessionGrant
    bucket: TokenBucket
    participant_id: str | None = None
    # A leader's account: from the link, else from the console's sign-in cookie.
    facilitator_id: str | None = None


class Signalling:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        settings: Settings,
        stats: ForwardingStats,
        store: Callable[[], Store],
        clock: Callable[[], float] = time.time,
        router_class: type[MediaRouter] = MediaRouter,
    ) -> None:
        self.sio = sio
        self.router_class = router_class
        self._store = store  # opened by the app after this object is made
        self.settings = settings
        self.stats = stats
        self.clock = clock
        self.sessions: dict[str, LiveSession] = {}
        self.stopping = False  # set at shutdown: dropped connections do not end summaries
        self._connections: dict[str, Connection] = {}
        self._background = BackgroundTasks()
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        sio.on("*", self._unknown)
        for event, handler in {
            "join": self._join,
            "publish": self._publish,
            "subscribe": self._subscribe,
            "subscribe_answer": self._subscribe_answer,
            "media_state": self._media_state,
            "leave": self._leave,
            "control": self._control,
            "client_stats": self._client_stats,
        }.items():
            sio.on(event, self._guarded(event, handler))

    # -- plumbing -------------------------------------------------------------------------

    def _guarded(
        self, event: str, handler: Callable[[str, Connection, Any], Awaitable[Reply]]
    ) -> Callable[[str, Any], Awaitable[Reply]]:
        """Rate limit, run, and turn every refusal into one error reply to the sender only."""

        async def run(sid: str, data: Any = None) -> Reply:
            conn = self._connections.get(sid)
            try:
                if conn is None:
                    raise RequestError("invalid_token", "not connected")
                if not conn.bucket.take(time.monotonic()):
                    raise RequestError("rate_limited", "too many requests; slow down")
                return await handler(sid, conn, data)
            except (RequestError, SessionError, MediaError, controls.ControlError) as exc:
                log.info(
                    "refused %s from %s: %s %s",
                    event,
                    conn.participant_id if conn else sid,
                    exc.code,
                    exc.message,
                )
                reply = {"error": exc.code, "message": exc.message}
                await self.sio.emit("error", {**reply, "event": event}, to=sid)
                return reply

        return run

    async def _unknown(self, event: str, sid: str, *args: Any) -> Reply:
        reply = {"error": "unknown_event", "message": f"unknown event {event[:40]!r}"}
        await self.sio.emit("error", {**reply, "event": event[:40]}, to=sid)
        return reply

    def _live(self, conn: Connection) -> LiveSession:
        live = self.sessions.get(conn.grant.session_id)
        if live is None or conn.participant_id is None:
            raise RequestError("not_joined", "join the session first")
        return live

    def _admitted_live(self, conn: Connection) -> tuple[LiveSession, str]:
        """The live session and participant id of someone admitted (not still waiting)."""
        live = self._live(conn)
        pid = conn.participant_id
        assert pid is not None
        if pid not in live.router.participants:
            raise RequestError("waiting", "wait until a facilitator lets you in")
        return live, pid

    def _live_session(self, record: SessionRecord) -> LiveSession:
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
                on_failed=lambda pid: self._background.spawn(self._drop(sid, pid)),
            )
            live = LiveSession(session, router, record)
            self.sessions[record.id] = live
        return live

    # -- connection lifecycle -------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            grant = verify(self.settings.secret, token, self.clock())
            wanted = auth.get("session_id") if isinstance(auth, dict) else None
            if wanted is not None and wanted != grant.session_id:
                raise TokenError("invalid_token", "This link belongs to another session.")
        except TokenError as exc:
            log.info("refused connection %s: %s", sid, exc.code)
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"error": exc.code, "message": exc.message}
            ) from exc
        facilitator_id = grant.facilitator_id
        if facilitator_id is None and grant.role.leads:
            facilitator_id = accounts.read_cookie(
                self.settings.secret, _cookie(environ, accounts.COOKIE_NAME), self.clock()
            )
        self._connections[sid] = Connection(
            grant, TokenBucket(RATE_PER_S, RATE_BURST, time.monotonic()), None, facilitator_id
        )

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._connections.pop(sid, None)
        if conn is not None and conn.participant_id is not None:
            await self._drop(conn.grant.session_id, conn.participant_id)

    async def _drop(self, session_id: str, pid: str) -> None:
        """Remove a participant (left, closed the tab, or media failed)."""
        live = self.sessions.get(session_id)
        if live is None or pid not in live.session.participants:
            return
        events = controls.leave(live.session, pid, self.clock())
        live.quality.forget(pid)
        sid = live.sids.pop(pid, None)
        live.forget_speaker(pid)
        await live.router.remove(pid)
        log.info("participant %s left session %s", pid, session_id)
        await self._publish_events(live, events)
        if sid is not None:
            conn = self._connections.get(sid)
            if conn is not None:
                conn.participant_id = None
                await self.sio.leave_room(sid, live.room())
        if not live.session.participants:
            # Everyone has gone: the summary is complete (docs/summaries.md), unless they are
            # gone because the server is stopping.
            await self._save_summary(live, final=not self.stopping)
            await live.router.close()
            self.sessions.pop(session_id, None)

    # -- requests -------------------------------------------------------------------------

    async def _join(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = _parse(JoinRequest, data)
        if conn.participant_id is not None:
            raise RequestError("invalid", "already joined")
        grant = conn.grant
        store = self._store()
        record = await store.get_session(grant.session_id)
        if record is None:
            raise RequestError("not_found", "This session does not exist any more.")
        if record.ended_at is not None:
            raise RequestError("ended", "This session has ended.")
        if grant.invite_token_id is not None:
            invite = await store.get_invite_by_token_id(grant.invite_token_id)
            if invite is None or invite.revoked:
                raise RequestError("invalid_token", "This invite is no longer valid.")
            if await store.is_invite_blocked(record.id, grant.invite_token_id):
                raise RequestError("blocked", "This invite can no longer join the session.")
            invite_id: str | None = invite.id
        else:
            invite_id = None
        name, credentials = request.name, ""
        account = await store.get_facilitator(conn.facilitator_id) if conn.facilitator_id else None
        if account is not None and grant.role.leads:
            # Participants should know who leads: the name and credentials of the account.
            name, credentials = account.display_name, account.credentials
        live = self._live_session(record)
        pid = "p_" + secrets.token_urlsafe(6)
        joined = live.session.join(
            pid,
            name,
            grant.role,
            self.clock(),
            invite_id=grant.invite_token_id,
            credentials=credentials,
            rejoin_key=request.rejoin_key,
        )
        conn.participant_id = pid
        live.sids[pid] = sid
        if invite_id is not None:
            live.invite_ids[pid] = invite_id
        if grant.role.leads:
            live.leaders[pid] = {
                "name": joined.participant.display_name,
                "credentials": credentials,
            }
        if not request.measure:
            live.engagement.opt_out(pid, True, self.clock())
        admitted = joined.participant.admitted
        if admitted:
            await self._enter(live, pid)
        for event in controls.events_for_join(live.session, joined):
            live.engagement.observe(event, self.clock())
            await self._deliver(live, event, skip=pid)
        log.info(
            "participant %s joined session %s as %s%s",
            pid,
            live.session.id,
            grant.role,
            "" if admitted else " (waiting)",
        )
        reply: Reply = {
            "ok": True,
            "participant_id": pid,
            "role": grant.role.value,
            "admitted": admitted,
            "ice_servers": [_ice_server_json(url) for url in self.settings.media.ice_servers],
        }
        if admitted:
            reply.update(self._state_for(live, pid))
        else:
            reply["session"] = {"id": live.session.id, "title": live.session.title}
        return reply

    def _state_for(self, live: LiveSession, pid: str) -> dict[str, Any]:
        return {
            **controls.snapshot(live.session, pid, self.clock()),
            "me": live.session.participants[pid].public(),
            "active_speaker": live.announced_speakers.get(live.session.participants[pid].room_id),
        }

    async def _enter(self, live: LiveSession, pid: str) -> None:
        """Admitted: into the media router and the session's broadcast room."""
        live.router.add(pid, MAIN_ROOM)
        sid = live.sids.get(pid)
        if sid is not None:
            await self.sio.enter_room(sid, live.room())

    async def _publish(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = _parse(SdpRequest, data)
        live, pid = self._admitted_live(conn)
        answer = await live.router.publish(pid, request.sdp)
        return {"ok": True, "sdp": answer}

    async def _subscribe(self, sid: str, conn: Connection, data: Any) -> Reply:
        _parse(EmptyRequest, data)
        live, pid = self._admitted_live(conn)
        offer, slots = await live.router.subscribe(pid)
        return {"ok": True, "sdp": offer, "slots": [_slot(s) for s in slots]}

    async def _subscribe_answer(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = _parse(SdpRequest, data)
        live, pid = self._admitted_live(conn)
        await live.router.subscribe_answer(pid, request.sdp)
        return {"ok": True}

    async def _media_state(self, sid: str, conn: Connection, data: Any) -> Reply:
        request = _parse(MediaStateRequest, data)
        live = self._live(conn)
        assert conn.participant_id is not None
        updated = live.session.set_media_state(conn.participant_id, request.audio, request.video)
        # The server enforces the participant's own mute too: muted audio is not forwarded.
        for kind, on in (("audio", request.audio), ("video", request.video)):
            if on is not None and conn.participant_id in live.router.participants:
                live.router.set_paused(conn.participant_id, kind, not on)
        if request.audio is False:
            live.forget_speaker(conn.participant_id)
        live.engagement.observe(updated, self.clock())
        await self._deliver(live, updated)
        return {"ok": True}

    async def _control(self, sid: str, conn: Connection, data: Any) -> Reply:
        """A facilitator or participant command, checked by the domain against the sender's
        role and the session's state; its effects on media happen here, at once."""
        live = self._live(conn)
        assert conn.participant_id is not None
        actor = live.session.participants.get(conn.participant_id)
        action = str(data.get("action", ""))[:40] if isinstance(data, dict) else ""
        target = data.get("target") if isinstance(data, dict) else None
        entry = AuditEntry(
            session_id=live.session.id,
            actor_id=conn.participant_id,
            actor_role=actor.role.value if actor else "unknown",
            action=action,
            target_id=target[:40] if isinstance(target, str) else None,
            detail={},
            at=self.clock(),
            outcome="ok",
        )
        try:
            command = controls.parse_command(data)
            events = controls.apply(live.session, conn.participant_id, command, self.clock())
        except controls.ControlError as exc:
            refused: AuditOutcome = "invalid"
            if exc.code == "forbidden":
                refused = "forbidden"
            elif exc.code == "not_found":
                refused = "not_found"
            await self._record(replace(entry, outcome=refused))  # refused attempts too
            raise
        await self._record(entry)
        await self._publish_events(live, events)
        return {"ok": True}

    async def _publish_events(self, live: LiveSession, events: list[DomainEvent]) -> None:
        """Tell everyone first, then act: a removed person hears why before being cut off."""
        now = self.clock()
        for event in events:
            live.engagement.observe(event, now)
            await self._deliver(live, event)
        for event in events:
            await self._apply_media_effect(live, event)

    async def _client_stats(self, sid: str, conn: Connection, data: Any) -> Reply:
        report = _parse(ClientStats, data)
        live, pid = self._admitted_live(conn)
        live.quality.client_report(
            pid, {"at": self.clock(), **report.model_dump(exclude_none=True)}
        )
        return {"ok": True}

    async def _record(self, entry: AuditEntry) -> None:
        await self._store().append_audit(entry)

    async def _deliver(
        self, live: LiveSession, event: DomainEvent, skip: str | None = None
    ) -> None:
        payload = event.payload()
        for pid in controls.recipients(live.session, event.audience):
            if pid != skip:
                await self._to(live, pid, event.name, payload)

    async def _apply_media_effect(self, live: LiveSession, event: DomainEvent) -> None:
        """What a domain event means for media, sockets and the store, done at once."""
        session = live.session
        if isinstance(event, controls.AudioForcedOff):
            live.router.set_paused(event.target, "audio", True)
            live.forget_speaker(event.target)
        elif isinstance(event, controls.VideoForcedOff):
            live.router.set_paused(event.target, "video", True)
        elif isinstance(event, controls.ParticipantAdmitted):
            pid = str(event.participant["id"])
            await self._enter(live, pid)
            await self._to(live, pid, "admitted", self._state_for(live, pid))
        elif isinstance(event, controls.RoleChanged):
            # a new leader sees the waiting room and help requests
            pid = event.participant_id
            await self._to(live, pid, "snapshot", self._state_for(live, pid))
        elif isinstance(event, RoomChanged):
            live.forget_speaker(event.target)
            if event.target in live.router.participants:
                live.router.move(event.target, event.room_id)
        elif isinstance(event, controls.ParticipantRemoved) and event.blocked:
            for invite_token_id in session.blocked_invites:
                await self._store().block_invite(session.id, invite_token_id)
        elif isinstance(event, controls.RemovedNotice | controls.ParticipantDenied):
            await self._disconnect_removed(live, event.target)
        elif isinstance(event, controls.SessionEnded) and isinstance(
            event.audience, controls.Everyone
        ):
            await self._store().end_session(session.id, event.at)
            live.record = replace(live.record, ended_at=event.at)
            await self._save_summary(live, final=True)
            for pid in list(live.sids):
                await self._disconnect_removed(live, pid)
            await live.router.close()
            self.sessions.pop(session.id, None)

    async def _disconnect_removed(self, live: LiveSession, pid: str) -> None:
        """The domain has already taken them out of the session; take their media and socket."""
        sid = live.sids.pop(pid, None)
        live.forget_speaker(pid)
        await live.router.remove(pid)
        if sid is not None:
            conn = self._connections.get(sid)
            if conn is not None:
                conn.participant_id = None
            self._background.spawn(self._disconnect_after_grace(sid))

    async def _disconnect_after_grace(self, sid: str) -> None:
        """Close a socket the server is done with, a moment later: the events that say why,
        and the answer to the request that caused it (say, their own "end"), arrive first."""
        await asyncio.sleep(DISCONNECT_GRACE_S)
        await self.sio.disconnect(sid)

    async def _leave(self, sid: str, conn: Connection, data: Any) -> Reply:
        _parse(EmptyRequest, data)
        live = self._live(conn)
        assert conn.participant_id is not None
        await self._drop(live.session.id, conn.participant_id)
        self._background.spawn(self._disconnect_after_grace(sid))
        return {"ok": True}

    # -- media events -> messages ---------------------------------------------------------

    async def _send_slots(self, session_id: str, pid: str, slots: list[Slot]) -> None:
        live = self.sessions.get(session_id)
        if live is not None:
            await self._to(live, pid, "slots", {"slots": [_slot(s) for s in slots]})

    def _on_audio_level(self, session_id: str, level: AudioLevel) -> None:
        live = self.sessions.get(session_id)
        if live is None:
            return
        participant = live.session.participants.get(level.participant_id)
        if participant is None or not participant.audio_on:
            return  # muted time never counts as speaking
        speaker = live.speakers.setdefault(participant.room_id, ActiveSpeaker())
        speaker.add(level.participant_id, level.level, level.voice, level.at)
        live.engagement.level(level.participant_id, level.level, self.clock())

    async def announce_speakers(self) -> None:
        """Periodic worker: send each room's `active_speaker` when it changes, to that room and
        to the leaders (their overview of the breakout rooms)."""
        while True:
            await asyncio.sleep(SPEAKER_INTERVAL_S)
            now = time.monotonic()
            for live in list(self.sessions.values()):
                for room, speaker in list(live.speakers.items()):
                    current = speaker.current(now)
                    if current == live.announced_speakers.get(room):
                        continue
                    live.announced_speakers[room] = current
                    admitted = live.session.admitted()
                    audience = {p.id for p in admitted if p.room_id == room or p.role.leads}
                    message = {"participant_id": current, "room": room}
                    for pid in audience:
                        await self._to(live, pid, "active_speaker", message)

    async def report_engagement(self) -> None:
        """Periodic worker: who is speaking, to the leaders, as soon as it changes (checked
        every ENGAGEMENT_SPEAKING_S); the whole engagement picture every ENGAGEMENT_METRICS_S."""
        ticks_per_report = round(ENGAGEMENT_METRICS_S / ENGAGEMENT_SPEAKING_S)
        tick = 0
        while True:
            await asyncio.sleep(ENGAGEMENT_SPEAKING_S)
            tick += 1
            now = self.clock()
            for live in list(self.sessions.values()):
                live.engagement.tick(now)
                speaking = frozenset(live.engagement.speaking_now())
                if speaking != live.announced_speaking:
                    live.announced_speaking = speaking
                    await self._to_leaders(live, "speaking", {"participant_ids": sorted(speaking)})
                if tick % ticks_per_report == 0:
                    report = engagement_report(live, now)
                    holding = {(a["kind"], a["participant_id"]) for a in report["alerts"]}
                    live.log_alerts(ENGAGEMENT_ALERTS, holding, now)
                    await self._to_leaders(live, "engagement", report)

    async def _to_leaders(self, live: LiveSession, event: str, payload: dict[str, Any]) -> None:
        for pid in controls.recipients(live.session, controls.Leaders()):
            await self._to(live, pid, event, payload)

    async def monitor_quality(self) -> None:
        """Periodic worker: sample every link, score it, and act: each participant hears of
        their own level, leaders get everyone's, poor downstreams keep only the video that
        matters, poor upstreams are asked to send less, long trouble raises an alert."""
        while True:
            await asyncio.sleep(QUALITY_INTERVAL_S)
            for live in list(self.sessions.values()):
                now = self.clock()
                for pid in list(live.router.participants):
                    up, down = await live.router.link_samples(pid, now)
                    live.quality.add(pid, up, down)
                await self._act_on_quality(live, now)

    async def _act_on_quality(self, live: LiveSession, now: float) -> None:
        session, quality = live.session, live.quality
        for pid in list(live.router.participants):
            up, down = quality.level(pid, "up"), quality.level(pid, "down")
            told = (up.value if up else None, down.value if down else None)
            if live.told_quality.get(pid) != told:
                live.told_quality[pid] = told
                await self._to(live, pid, "my_quality", {"up": told[0], "down": told[1]})
            poor_up = up in (Level.POOR, Level.LOST)
            if poor_up != (pid in live.capped):
                live.capped.symmetric_difference_update({pid})
                advice = {"cap": poor_up, **(CAPPED_VIDEO if poor_up else {})}
                await self._to(live, pid, "quality_advice", advice)
            participant = session.participants.get(pid)
            if down is Level.POOR and participant is not None:
                speaker = live.announced_speakers.get(participant.room_id)
                keep = frozenset(p for p in (session.spotlight, speaker) if p is not None)
                if live.held_video.get(pid) != keep:
                    live.held_video[pid] = keep
                    live.router.hold_video(pid, set(keep))
            elif pid in live.held_video:
                del live.held_video[pid]
                live.router.hold_video(pid, None)
        names = {pid: p.display_name for pid, p in session.participants.items()}
        view = quality.view(now)
        await self._to_leaders(
            live,
            "quality",
            {"participants": {pid: {"name": names.get(pid), **v} for pid, v in view.items()}},
        )
        alerts = quality.alerts(now)
        for kind, pid in sorted(set(alerts) - live.announced_quality_alerts):
            detail = {
                "kind": kind,
                "participant_id": pid,
                "name": names.get(pid),
                **alerts[(kind, pid)],
            }
            await self._to_leaders(live, "quality_alert", detail)
        live.announced_quality_alerts = frozenset(alerts)
        live.log_alerts(QUALITY_ALERTS, set(alerts), now)

    async def _to(self, live: LiveSession, pid: str, event: str, payload: dict[str, Any]) -> None:
        sid = live.sids.get(pid)
        if sid is not None:
            await self.sio.emit(event, payload, to=sid)

    async def flush_summaries(self) -> None:
        """Periodic worker: every running session's summary goes to the store, so nothing
        measured is lost if the server stops mid-session."""
        while True:
            await asyncio.sleep(SUMMARY_FLUSH_S)
            for live in list(self.sessions.values()):
                await self._save_summary(live, final=False)

    async def _save_summary(self, live: LiveSession, *, final: bool) -> None:
        now = self.clock()
        await self._store().put_summary(
            SummaryRecord(
                live.session.id,
                live.record.group_id,
                summary_of(live, now, final=final),
                now,
                final,
            )
        )

    async def run_breakout_timers(self) -> None:
        """Periodic worker: breakout timers and return countdowns (rooms.breakouts.tick)."""
        while True:
            await asyncio.sleep(BREAKOUT_TICK_S)
            for live in list(self.sessions.values()):
                events = breakouts.tick(live.session, self.clock())
                if events:
                    await self._publish_events(live, events)

    async def close(self) -> None:
        for session_id in list(self.sessions):
            live = self.sessions.pop(session_id)
            await self._save_summary(live, final=False)  # the server stops mid-session
            await live.router.close()
        self._background.cancel_all()


def engagement_report(live: LiveSession, now: float) -> dict[str, Any]:
    """The engagement picture for leaders and the REST API: metrics keyed by participant id
    (with display names), rooms, session, settings and the alerts that hold now."""
    engine = live.engagement
    return {
        "session_id": live.session.id,
        "at": now,
        **engine.metrics(now),
        "settings": engine.settings(),
        "alerts": [
            {"kind": _with_connection(live, kind, pid), "participant_id": pid, **detail}
            for (kind, pid), detail in sorted(engine.alerts(now).items())
        ],
    }


def summary_of(live: LiveSession, now: float, *, final: bool) -> dict[str, Any]:
    """The session's summary now (rooms.summary), from everything measured so far."""
    record = live.record
    facts = SessionFacts(
        record.id,
        record.title,
        record.group_id,
        record.created_at,
        record.ended_at,
        list(live.leaders.values()),
        room_names={room.id: room.name for room in live.session.breakouts.rooms},
        invite_ids=dict(live.invite_ids),
    )
    return build_summary(facts, live.engagement, live.quality, live.alert_log, now, final=final)


def _with_connection(live: LiveSession, kind: str, pid: str) -> str:
    """Silence means something else when the connection is failing: say so."""
    if kind == "silent" and live.quality.level(pid, "up") in (Level.POOR, Level.LOST):
        return "silent_poor_connection"
    return kind


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    try:
        jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _ice_server_json(url: str) -> dict[str, str]:
    """The browser's RTCIceServer for a configured STUN/TURN URL."""
    server = ice_server(url)
    entry = {"urls": str(server.urls)}
    if server.username:
        entry["username"] = server.username
        entry["credential"] = str(server.credential)
    return entry


def _slot(slot: Slot) -> dict[str, Any]:
    return {"mid": slot.mid, "kind": slot.kind, "participant_id": slot.participant_id}
