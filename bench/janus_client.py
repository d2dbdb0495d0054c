"""A load bot for Janus's VideoRoom over its HTTP API (aiohttp), with the same aiortc media, the
same pre-encoded senders and the same undecoded counting as Circle's bots (server/bot/).

A bot publishes audio and video on one peer connection and receives every other publisher on a
second one (one multistream subscriber handle, as Circle has one subscribe connection). Janus
answers synchronous requests at once; the replies to asynchronous ones (join, publish, start)
come as events on the session's long poll, matched by transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

from server.bot.media import EncodedMedia, EncodedTrack, OpusPacker, Vp8Packer
from server.bot.peer import (
    MediaCounts,
    answer,
    count_receivers,
    rtc_configuration,
    send_tracks,
    wait_connected,
)
from server.bot.stats import ReceiveCounter

VIDEOROOM = "janus.plugin.videoroom"
REPLY_TIMEOUT_S = 30.0


class JanusError(RuntimeError):
    """Janus or its VideoRoom plugin refused a request."""


def plugin_data(reply: dict[str, Any]) -> dict[str, Any]:
    """The VideoRoom's part of a Janus reply or event; JanusError when either reports one."""
    if reply.get("janus") == "error":
        raise JanusError(f"janus: {reply.get('error')}")
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error_code" in data:
        raise JanusError(f"videoroom: {data.get('error_code')}: {data.get('error')}")
    return data


class JanusSession:
    """One Janus session: handles, requests, and the long poll that brings async replies."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.id: int | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poll: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(8)}
        async with self.http.post(self.url + path, json=body) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{body['janus']}: {reply.get('error')}")
        return reply

    async def create(self) -> None:
        self.id = int((await self._post("", {"janus": "create"}))["data"]["id"])
        self._poll = asyncio.create_task(self._long_poll())

    async def attach(self) -> int:
        reply = await self._post(f"/{self.id}", {"janus": "attach", "plugin": VIDEOROOM})
        return int(reply["data"]["id"])

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous VideoRoom request (create, listparticipants): its data."""
        reply = await self._post(f"/{self.id}/{handle}", {"janus": "message", "body": body})
        return plugin_data(reply)

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous VideoRoom request: (event data, event jsep) once the event came."""
        transaction = secrets.token_hex(8)
        waiter = self._waiting[transaction] = asyncio.get_running_loop().create_future()
        request: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            await self._post(f"/{self.id}/{handle}", request)  # "ack"
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                event = await waiter
        finally:
            self._waiting.pop(transaction, None)
        return plugin_data(event), event.get("jsep")

    async def trickle_done(self, handle: int) -> None:
        """aiortc puts every candidate in its SDP: tell Janus there are no more."""
        body = {"janus": "trickle", "candidate": {"completed": True}}
        await self._post(f"/{self.id}/{handle}", body)

    async def _long_poll(self) -> None:
        """Events (and keep-alives) for this session; also what keeps the session alive."""
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.id}?maxev=16") as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                waiter = self._waiting.get(event.get("transaction", ""))
                if waiter is not None and not waiter.done() and event.get("janus") != "ack":
                    waiter.set_result(event)

    async def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
        if self.id is not None:
            with contextlib.suppress(aiohttp.ClientError, JanusError, TimeoutError):
                await self._post(f"/{self.id}", {"janus": "destroy"})


async def create_room(http: aiohttp.ClientSession, url: str, publishers: int) -> int:
    """A VideoRoom for `publishers` people, Opus + VP8 as Circle forwards; its id."""
    session = JanusSession(http, url)
    await session.create()
    try:
        handle = await session.attach()
        data = await session.request(
            handle,
            {
                "request": "create",
                "publishers": publishers,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "bitrate": 0,  # no REMB cap: the bots send a fixed clip
                "fir_freq": 0,
                "notify_joining": False,
                "audiolevel_event": False,
            },
        )
        return int(data["room"])
    finally:
        await session.close()


class JanusBot(MediaCounts):
    """One participant in a Janus VideoRoom, with a Circle Bot's counting interface."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        room: int,
        name: str,
        media: EncodedMedia,
        *,
        receive_counter: ReceiveCounter | None = None,
        video_packer: Vp8Packer | None = None,
    ) -> None:
        self.session = JanusSession(http, url)
        self.room = room
        self.name = name
        self.media = media
        self.feed: int | None = None
        self.private_id: int | None = None
        self.tracks: list[EncodedTrack] = []
        self.publish_pc: RTCPeerConnection | None = None
        self.subscribe_pc: RTCPeerConnection | None = None
        self._receive = receive_counter if receive_counter is not None else ReceiveCounter()
        self._video_packer = video_packer or Vp8Packer()
        self._packers: dict[str, Vp8Packer | OpusPacker] = {}

    @property
    def participant_id(self) -> str | None:
        return None if self.feed is None else str(self.feed)

    async def start(self) -> None:
        """Join as a publisher and publish; `subscribe` once everyone has."""
        await self.session.create()
        handle = await self.session.attach()
        joined, _ = await self.session.message(
            handle, {"request": "join", "ptype": "publisher", "room": self.room, "display": "bot"}
        )
        self.feed, self.private_id = int(joined["id"]), joined.get("private_id")
        pc = self.publish_pc = RTCPeerConnection(rtc_configuration())
        self.tracks = self.media.tracks()
        self._packers = send_tracks(pc, self.tracks, self._video_packer)
        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers fully
        _, answer = await self.session.message(
            handle,
            {"request": "publish"},
            {"type": "offer", "sdp": pc.localDescription.sdp},
        )
        if answer is None:
            raise JanusError(f"{self.name}: publish answered without SDP")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await self.session.trickle_done(handle)

    async def subscribe(self, feeds: list[int]) -> None:
        """Receive every stream of `feeds` on one peer connection."""
        handle = await self.session.attach()
        attached, offer = await self.session.message(
            handle,
            {
                "request": "join",
                "ptype": "subscriber",
                "room": self.room,
                "private_id": self.private_id,
                "streams": [{"feed": feed} for feed in feeds],
            },
        )
        if offer is None:
            raise JanusError(f"{self.name}: subscription offered without SDP")
        pc = self.subscribe_pc = RTCPeerConnection(rtc_configuration())
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        self._receive.apply_slots(
            [
                {"mid": s["mid"], "kind": s["type"], "participant_id": str(s["feed_id"])}
                for s in attached.get("streams", [])
                if "feed_id" in s
            ]
        )
        count_receivers(pc, self._receive)
        sdp = await answer(pc)
        await self.session.message(handle, {"request": "start"}, {"type": "answer", "sdp": sdp})
        await self.session.trickle_done(handle)

    async def wait_connected(self, limit_s: float = 15.0) -> None:
        await wait_connected(self.name, (self.publish_pc, self.subscribe_pc), limit_s)

    async def close(self) -> None:
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
        for track in self.tracks:
            track.stop()
        await self.session.close()
