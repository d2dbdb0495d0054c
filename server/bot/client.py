"""A Circle participant without a browser: joins over socket.io, publishes pre-encoded media,
subscribes, and counts what it receives without decoding it (for tests and load runs).

Counting is stats.py's; running several bots (and `circle bot`) is run.py's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import socketio
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)

from server.bot.media import EncodedMedia, EncodedTrack, OpusPacker, Vp8Packer
from server.bot.stats import KINDS, BotReport, BotStats, ReceiveCounter, SequenceTracker
from server.media import aiortc_hooks

# the names callers import from here; BotReport and SequenceTracker live in stats.py
__all__ = [
    "Bot",
    "BotError",
    "BotReport",
    "BotStats",
    "SequenceTracker",
    "count_receivers",
    "parse_invite",
    "rtc_configuration",
    "send_tracks",
    "wait_connected",
]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0
RESUME_ATTEMPTS = 5  # tries on one connection; each new connection tries again
_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}


class BotError(RuntimeError):
    """The server refused a bot's request (`code` and `reason` are the server's), or a step
    timed out or failed (`code` None)."""

    def __init__(self, message: str, code: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


def parse_invite(invite_url: str) -> tuple[str, str]:
    """(server origin, token) from `http://host:port/s/<id>#t=<jwt>`."""
    parts = urlsplit(invite_url)
    token = parse_qs(parts.fragment).get("t", [""])[0]
    if not parts.scheme or not parts.netloc or not token:
        raise ValueError("an invite URL looks like http://host:port/s/<session>#t=<token>")
    return f"{parts.scheme}://{parts.netloc}", token


def _codec_preferences(kind: str) -> list[Any]:
    caps = RTCRtpSender.getCapabilities(kind).codecs
    return [c for c in caps if c.mimeType.lower() in _CODECS[kind]]


def rtc_configuration() -> RTCConfiguration:
    # No ICE servers (aiortc's default is a public STUN server); MAX_BUNDLE (aiortc #1414).
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def send_tracks(
    pc: RTCPeerConnection, tracks: list[EncodedTrack], video_packer: Vp8Packer
) -> dict[str, Vp8Packer | OpusPacker]:
    """Send pre-encoded `tracks` on `pc` (aiortc creates no encoder): VP8 through
    `video_packer`, honouring keyframe requests; Opus with its RFC 6464 levels. Returns the
    packers by kind (they count what was sent)."""
    packers: dict[str, Vp8Packer | OpusPacker] = {}
    for track in tracks:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(track.kind))
        sender = transceiver.sender
        if track.kind == "video":
            aiortc_hooks.install_packer(sender, video_packer)
            aiortc_hooks.on_keyframe_request(sender, track.request_keyframe)
            packers["video"] = video_packer
        else:
            audio_packer = OpusPacker()
            aiortc_hooks.install_packer(sender, audio_packer)
            aiortc_hooks.send_audio_levels(sender, _last_level(audio_packer))
            packers["audio"] = audio_packer
    return packers


async def wait_connected(
    name: str, pcs: Iterable[RTCPeerConnection | None], limit_s: float
) -> None:
    """Until every peer connection of `pcs` is connected; BotError if one fails or closes,
    TimeoutError after `limit_s`."""
    async with asyncio.timeout(limit_s):
        for pc in pcs:
            while pc is not None and pc.connectionState != "connected":
                if pc.connectionState in ("failed", "closed"):
                    raise BotError(f"{name}: peer connection {pc.connectionState}")
                await asyncio.sleep(0.05)


def count_receivers(pc: RTCPeerConnection, receive: ReceiveCounter) -> None:
    """After the remote offer: every receiver of `pc` counts into `receive`, undecoded."""
    for transceiver in pc.getTransceivers():
        mid = transceiver.mid
        assert mid is not None
        receive.add_mid(mid, transceiver.kind)
        aiortc_hooks.count_received_packets(
            transceiver.receiver, receive.sink(mid), transceiver.kind
        )


class Bot:
    """One participant. `await bot.start()` connects, joins, publishes and subscribes."""

    def __init__(
        self,
        invite_url: str,
        name: str = "Bot",
        media: EncodedMedia | None = None,
        *,
        publish: bool = True,
        subscribe: bool = True,
        admit_timeout_s: float = 300.0,
        receive_counter: ReceiveCounter | None = None,
        video_packer: Vp8Packer | None = None,
    ) -> None:
        """`receive_counter` and `video_packer` replace the stock ones, say to time packets."""
        self.origin, self._token = parse_invite(invite_url)
        self.name = name
        self.media = media
        self._publish = publish and media is not None and bool(media.tracks())
        self._subscribe = subscribe
        self.participant_id: str | None = None
        self.role: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.state: dict[str, Any] = {}
        self.slots: list[dict[str, Any]] = []
        self.active_speaker: str | None = None
        self.errors: list[dict[str, Any]] = []
        self.tracks: list[EncodedTrack] = []
        self.publish_pc: RTCPeerConnection | None = None
        self.subscribe_pc: RTCPeerConnection | None = None
        self._packers: dict[str, Vp8Packer | OpusPacker] = {}
        self._receive = receive_counter if receive_counter is not None else ReceiveCounter()
        self._video_packer = video_packer
        self._closed = False
        self.admit_timeout_s = admit_timeout_s  # a person must admit a bot from the waiting room
        self.admitted = asyncio.Event()
        # Like a page: a dropped connection is retried, and the bot comes back as itself.
        self.rejoin_key = secrets.token_urlsafe(18)
        self.resumes = 0  # how often it came back as itself after a drop or a restart
        self._joined = False
        self._resuming: asyncio.Task[None] | None = None
        self.sio = socketio.AsyncClient(
            serializer="msgpack",
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("media_reset", self._on_media_reset)
        self.sio.on("admitted", self._on_admitted)
        self.sio.on("slots", self._on_slots)
        self.sio.on("participant_joined", self._on_participant)
        self.sio.on("participant_updated", self._on_participant)
        self.sio.on("participant_left", self._on_participant_left)
        self.sio.on("active_speaker", self._on_active_speaker)
        self.sio.on("error", self._on_error)

    # -- socket.io ------------------------------------------------------------------------

    async def _on_connect(self) -> None:
        if self._joined and not self._closed and self._resuming is None:
            self._resuming = asyncio.create_task(self._resume())

    async def _resume(self) -> None:
        """Connected again: join with the same key (the same person), then fresh media. A step
        that fails (a timeout on a busy server) is tried again while this connection lasts:
        once joined, the server's side of the media is reset first (`restart_media`)."""
        joined = False
        try:
            for _ in range(RESUME_ATTEMPTS):
                try:
                    if joined:
                        await self.request("restart_media", {})
                    else:
                        await self.join()
                        joined = True
                    await self._renegotiate()
                    self.resumes += 1
                    return
                except (BotError, socketio.exceptions.SocketIOError) as exc:
                    log.warning("%s: could not resume yet: %s", self.name, exc)
                if self._closed or not self.sio.connected:
                    return  # the next connection resumes
                await asyncio.sleep(1.0)
        finally:
            self._resuming = None

    async def _on_media_reset(self, data: Any) -> None:
        """The server saw our peer connections fail: new ones."""
        with contextlib.suppress(BotError, socketio.exceptions.SocketIOError):
            await self.request("restart_media", {})
            await self._renegotiate()

    async def _renegotiate(self) -> None:
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
        self.publish_pc = self.subscribe_pc = None
        for track in self.tracks:
            track.stop()
        self.tracks = []
        if self.admitted.is_set():
            if self._publish:
                await self.publish()
            if self._subscribe:
                await self.subscribe()

    async def _on_slots(self, data: dict[str, Any]) -> None:
        self._apply_slots(data.get("slots", []))

    def _apply_slots(self, slots: list[dict[str, Any]]) -> None:
        self.slots = list(slots)
        self._receive.apply_slots(slots)

    async def _on_participant(self, data: dict[str, Any]) -> None:
        self.participants[data["id"]] = data

    async def _on_participant_left(self, data: dict[str, Any]) -> None:
        self.participants.pop(data.get("participant_id", ""), None)

    async def _on_admitted(self, data: dict[str, Any]) -> None:
        self._take_state(data)
        self.admitted.set()

    def _take_state(self, state: dict[str, Any]) -> None:
        self.active_speaker = state.get("active_speaker")
        for p in state.get("participants", []):
            self.participants[p["id"]] = p

    async def _on_active_speaker(self, data: dict[str, Any]) -> None:
        self.active_speaker = data.get("participant_id")

    async def _on_error(self, data: dict[str, Any]) -> None:
        log.warning("%s: server error %s", self.name, data)
        self.errors.append(data)

    async def request(self, event: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            reply = await self.sio.call(event, body or {}, timeout=REQUEST_TIMEOUT_S)
        except socketio.exceptions.TimeoutError as exc:
            raise BotError(f"{self.name}: no reply to {event}") from exc
        if isinstance(reply, dict) and "error" in reply:
            code, reason = str(reply["error"]), str(reply.get("message", ""))
            raise BotError(f"{self.name}: {event} refused: {code}: {reason}", code, reason)
        if not isinstance(reply, dict):
            raise BotError(f"{self.name}: {event}: unexpected reply {reply!r}")
        return reply

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.connect()
        await self.join()
        try:
            async with asyncio.timeout(self.admit_timeout_s):
                await self.admitted.wait()
        except TimeoutError:
            raise BotError(f"{self.name}: not admitted from the waiting room in time") from None
        if self._publish:
            await self.publish()
        if self._subscribe:
            await self.subscribe()

    async def connect(self) -> None:
        try:
            await self.sio.connect(
                self.origin,
                auth={"token": self._token},
                transports=["websocket"],
                socketio_path="socket.io",
                wait_timeout=REQUEST_TIMEOUT_S,
            )
        except socketio.exceptions.ConnectionError as exc:
            reason = " ".join(str(a) for a in exc.args)
            raise BotError(f"{self.name}: connection refused: {reason}", "refused", reason) from exc

    async def join(self) -> None:
        reply = await self.request("join", {"name": self.name, "rejoin_key": self.rejoin_key})
        self._joined = True
        self.state = reply  # the session as the server last told it at a join
        self.participant_id = reply["participant_id"]
        self.role = reply.get("role")
        if reply.get("admitted", True):
            self._take_state(reply)
            self.admitted.set()
        else:
            log.info("%s: waiting to be admitted", self.name)

    async def publish(self) -> None:
        assert self.media is not None
        pc = self.publish_pc = RTCPeerConnection(rtc_configuration())
        self.tracks = self.media.tracks()
        self._packers = send_tracks(pc, self.tracks, self._video_packer or Vp8Packer())
        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers fully
        reply = await self.request("publish", {"sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))

    async def subscribe(self) -> None:
        reply = await self.request("subscribe", {})
        pc = self.subscribe_pc = RTCPeerConnection(rtc_configuration())
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        self._apply_slots(reply.get("slots", []))
        count_receivers(pc, self._receive)
        await pc.setLocalDescription(await pc.createAnswer())
        await self.request("subscribe_answer", {"sdp": pc.localDescription.sdp})

    def connection_states(self) -> str:
        """Each peer connection's ICE and connection state, e.g. for a report."""
        return ", ".join(
            f"{what}: ICE {pc.iceConnectionState}, {pc.connectionState}"
            for what, pc in (("publish", self.publish_pc), ("subscribe", self.subscribe_pc))
            if pc is not None
        )

    async def wait_connected(self, limit_s: float = 15.0) -> None:
        await wait_connected(self.name, (self.publish_pc, self.subscribe_pc), limit_s)

    async def leave(self) -> None:
        if self.sio.connected and self.participant_id is not None:
            with contextlib.suppress(BotError, socketio.exceptions.SocketIOError):
                await self.request("leave", {})
        await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resuming is not None:
            self._resuming.cancel()
        if self.sio.connected:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
        for track in self.tracks:
            track.stop()

    # -- what was received ----------------------------------------------------------------

    def received(self, kind: str, participant_id: str | None = None) -> int:
        """Packets of `kind` received from `participant_id` (all sources when None)."""
        return self._receive.received(kind, participant_id)

    def lost(self, kind: str) -> int:
        return self._receive.lost(kind)

    def sent(self, kind: str) -> int:
        packer = self._packers.get(kind)
        return packer.payloads if packer is not None else 0

    def stats(self) -> BotStats:
        return BotStats(
            self.name,
            self.participant_id,
            {k: self.received(k) for k in KINDS},
            {k: self.lost(k) for k in KINDS},
            {k: self.sent(k) for k in KINDS},
            self._receive.sources(),
        )


def _last_level(packer: OpusPacker) -> Callable[[], tuple[bool, int] | None]:
    return lambda: packer.last_level
