"""A Circle participant without a browser: joins over socket.io, publishes pre-encoded media,
subscribes, and counts what it receives without decoding it (for tests and load runs).

Peer-connection set-up (shared with the Janus bench's bots) is peer.py's; counting is
stats.py's; moving between a cluster's nodes is relocation.py's; running several bots (and
`circle bot`) is run.py's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import socketio
from aiortc import (
    RTCPeerConnection,
    RTCSessionDescription,
)

from server import accounts
from server.background import BackgroundTasks
from server.bot.errors import BotError
from server.bot.media import EncodedMedia, EncodedTrack, OpusPacker, Vp8Packer
from server.bot.peer import (
    MediaCounts,
    answer,
    count_receivers,
    rtc_configuration,
    send_tracks,
    wait_connected,
)
from server.bot.relocation import Relocation
from server.bot.stats import KINDS, BotReport, BotStats, ReceiveCounter, SequenceTracker

# the names callers import from here; BotReport and SequenceTracker live in stats.py, BotError
# in errors.py
__all__ = [
    "Bot",
    "BotError",
    "BotReport",
    "BotStats",
    "SequenceTracker",
    "parse_invite",
]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0
RESUME_ATTEMPTS = 5  # tries on one connection; each new connection tries again
NODE_CONNECT_TIMEOUT_S = 5.0  # a cluster's node, when moving there


def parse_invite(invite_url: str) -> tuple[str, str]:
    """(server origin, token) from `http://host:port/s/<id>#t=<jwt>`."""
    parts = urlsplit(invite_url)
    token = parse_qs(parts.fragment).get("t", [""])[0]
    if not parts.scheme or not parts.netloc or not token:
        raise ValueError("an invite URL looks like http://host:port/s/<session>#t=<token>")
    return f"{parts.scheme}://{parts.netloc}", token


class Bot(MediaCounts):
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
        cookie: str | None = None,
    ) -> None:
        """`receive_counter` and `video_packer` replace the stock ones, say to time packets;
        `cookie`: a signed-in facilitator's, for their own link (it leads only for them)."""
        self._headers = {"Cookie": f"{accounts.COOKIE_NAME}={cookie}"} if cookie else {}
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
        self.video_watched: list[bool] = []  # each `video_watched` the server sent, in order
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
        # Like a page: a dropped connection is retried, and the bot comes back as itself with
        # the key the server gave it at its first join.
        self.rejoin_key: str | None = None
        self.resumes = 0  # how often it came back as itself after a drop or a restart
        self._joined = False
        self._resuming: asyncio.Task[None] | None = None
        self.nodes: list[str] = []  # the cluster's other nodes, as the last join told
        self.relocation = Relocation(self)
        self._leaving = BackgroundTasks()  # sockets left behind, closing
        self._slot_updates = 0  # "slots" events so far
        self.sio = self._new_socket()

    def _new_socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(
            serializer="msgpack",
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
        )
        handlers: dict[str, Callable[..., Awaitable[None]]] = {
            "connect": self._on_connect,
            "disconnect": self._on_disconnect,
            "move": self._on_move,
            "media_reset": self._on_media_reset,
            "admitted": self._on_admitted,
            "slots": self._on_slots,
            "participant_joined": self._on_participant,
            "participant_updated": self._on_participant,
            "participant_left": self._on_participant_left,
            "active_speaker": self._on_active_speaker,
            "video_watched": self._on_video_watched,
            "error": self._on_error,
        }
        for event, handler in handlers.items():
            sio.on(event, self._from_current(sio, handler))
        return sio

    def _from_current(
        self, sio: socketio.AsyncClient, handler: Callable[..., Awaitable[None]]
    ) -> Callable[..., Awaitable[None]]:
        """What a socket left behind (after a move) still says is stale: ignored."""

        async def handle(*args: Any) -> None:
            if sio is self.sio:
                await handler(*args)

        return handle

    @property
    def moves(self) -> int:
        """How often it moved to another node of a cluster and resumed there."""
        return self.relocation.moves

    @property
    def closed(self) -> bool:
        return self._closed

    # -- socket.io ------------------------------------------------------------------------

    async def _on_connect(self) -> None:
        if (
            self._joined
            and not self._closed
            and self._resuming is None
            and not self.relocation.under_way
        ):
            self._resuming = asyncio.create_task(self._resume())

    async def _on_disconnect(self, *reason: Any) -> None:
        if self._joined and not self._closed:
            self.relocation.after_drop()

    async def _on_move(self, data: Any) -> None:
        url = data.get("url") if isinstance(data, dict) else None
        if isinstance(url, str) and not self._closed:
            self.relocation.follow(url)

    async def switch_to(self, origin: str) -> None:
        """A new socket, to `origin` (the old one is shut down, its reconnecting too)."""
        old, self.sio = self.sio, self._new_socket()
        # not awaited: a draining node may hold the old socket open until it exits
        self._leaving.spawn(_dispose(old))
        self.origin = origin
        await self.connect(NODE_CONNECT_TIMEOUT_S)

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
                    await self.renegotiate()
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
            await self.renegotiate()

    async def renegotiate(self) -> None:
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
        self._slot_updates += 1
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

    async def _on_video_watched(self, data: dict[str, Any]) -> None:
        """Like a page: an unwatched camera is not sent."""
        watched = bool(data.get("watched"))
        self.video_watched.append(watched)
        for track in self.tracks:
            if track.kind == "video":
                track.set_paused(not watched)

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
            raise BotError(
                f"{self.name}: {event} refused: {code}: {reason}",
                code,
                reason,
                str(reply.get("url", "")),
            )
        if not isinstance(reply, dict):
            raise BotError(f"{self.name}: {event}: unexpected reply {reply!r}")
        return reply

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.connect()
        await self.relocation.join_where_it_runs()
        try:
            async with asyncio.timeout(self.admit_timeout_s):
                await self.admitted.wait()
        except TimeoutError:
            raise BotError(f"{self.name}: not admitted from the waiting room in time") from None
        if self._publish:
            await self.publish()
        if self._subscribe:
            await self.subscribe()

    async def connect(self, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        try:
            await self.sio.connect(
                self.origin,
                auth={"token": self._token},
                headers=self._headers,
                transports=["websocket"],
                socketio_path="socket.io",
                wait_timeout=timeout_s,
            )
        except socketio.exceptions.ConnectionError as exc:
            await self.sio.disconnect()  # the engine keeps its HTTP session open otherwise
            reason = " ".join(str(a) for a in exc.args)
            raise BotError(f"{self.name}: connection refused: {reason}", "refused", reason) from exc

    async def join(self) -> None:
        request: dict[str, object] = {"name": self.name}
        if self.rejoin_key is not None:
            request["rejoin_key"] = self.rejoin_key
        reply = await self.request("join", request)
        self.rejoin_key = str(reply["rejoin_key"])
        self._joined = True
        self.state = reply  # the session as the server last told it at a join
        self.participant_id = reply["participant_id"]
        self.role = reply.get("role")
        self.nodes = [str(url) for url in reply.get("nodes", [])]
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
        updates = self._slot_updates
        reply = await self.request("subscribe", {})
        pc = self.subscribe_pc = RTCPeerConnection(rtc_configuration())
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        if self._slot_updates == updates:
            # else a "slots" event came meanwhile: the server made it after this reply
            self._apply_slots(reply.get("slots", []))
        count_receivers(pc, self._receive)
        await self.request("subscribe_answer", {"sdp": await answer(pc, numbered=True)})

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
        self.relocation.cancel()
        self._leaving.cancel_all()
        if self.sio.connected:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
        for track in self.tracks:
            track.stop()

    # -- what was received ----------------------------------------------------------------

    def stats(self) -> BotStats:
        return BotStats(
            self.name,
            self.participant_id,
            {k: self.received(k) for k in KINDS},
            {k: self.lost(k) for k in KINDS},
            {k: self.sent(k) for k in KINDS},
            self._receive.sources(),
        )


async def _dispose(sio: socketio.AsyncClient) -> None:
    """A socket left behind: its reconnecting stopped, then its engine's HTTP session closed
    (after a failed attempt to reconnect, shutdown alone leaves that open)."""
    await sio.shutdown()
    await sio.disconnect()
