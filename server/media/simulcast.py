"""A publisher's camera as the layers it sends: browsers send simulcast (one RTP stream per
layer, named by a rid), bots one stream (the single layer "c").

`RidDemux` learns which SSRC carries which layer: browsers announce no SSRCs for rid
simulcast, so the rid (or, on an RTX stream, the repaired rid) header extension of a stream's
first packets names it. `VideoLayers` holds one Producer per layer (each with its own frame
assembly, keyframe requests to its own SSRC and size read from its keyframes) and tells the
selection which layers are available: a layer that sent nothing for `LAYER_STOPPED_S` is not,
unless the server itself paused it at the publisher.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from server.media.last_n import CAMERA_LAYER
from server.media.producer import Producer
from server.media.rtp_reader import ReceivedPacket
from server.media.sdp import URI_REPAIRED_RID, URI_RID, SimulcastOffer
from server.media.selection import Layer, Switch

LAYER_STOPPED_S = 1.0  # a layer silent this long is not available (the publisher stopped it)
RESUME_GRACE_S = 2.0  # a layer the server resumes has this long to send again
BITRATE_WINDOW_S = 1.0
LAYER_CHECK_S = 0.5  # how often the router checks for a layer's start or stop, a settled switch


class RidDemux:
    """Which simulcast layer each of a publisher's video SSRCs carries."""

    def __init__(self, offer: SimulcastOffer) -> None:
        self.rids = offer.rids
        self.extension_ids = {URI_RID: offer.rid_id}
        if offer.repaired_rid_id:
            self.extension_ids[URI_REPAIRED_RID] = offer.repaired_rid_id
        self.rid_of: dict[int, str] = {}  # media SSRC -> rid
        self._ssrc_of: dict[str, int] = {}  # rid -> its media SSRC now

    def learn(self, packet: ReceivedPacket, rtx: bool, rtx_ssrcs: dict[int, int]) -> None:
        """A packet of an SSRC not known yet: a media stream named by its rid, or (`rtx`: its
        payload type is RTX) a retransmission stream, added to `rtx_ssrcs` (RTX SSRC -> media
        SSRC) by its repaired rid once that layer's media SSRC is known. A layer's new SSRC
        replaces its old one."""
        if rtx:
            media_ssrc = self._ssrc_of.get(packet.repaired_rid or packet.rid or "")
            if media_ssrc is not None:
                rtx_ssrcs[packet.ssrc] = media_ssrc
            return
        rid = packet.rid
        if rid is None or rid not in self.rids:
            return
        old = self._ssrc_of.get(rid)
        if old is not None:
            del self.rid_of[old]
        self.rid_of[packet.ssrc] = rid
        self._ssrc_of[rid] = packet.ssrc


class VideoLayers:
    """One publisher's camera layers, each a Producer."""

    def __init__(
        self,
        make_producer: Callable[[str], Producer],
        rids: tuple[str, ...] | None,
    ) -> None:
        """`rids`: the simulcast layers offered; None for a camera without simulcast."""
        self.simulcast = rids is not None
        self.producers = {rid: make_producer(rid) for rid in rids or (CAMERA_LAYER.rid,)}
        self._single = None if self.simulcast else self.producers[CAMERA_LAYER.rid]
        self.paused: frozenset[str] = frozenset()  # the layers paused at the publisher
        self._resumed_at: dict[str, float] = {}
        self._rates: dict[str, tuple[float, int, int]] = {}  # rid -> (at, bytes, bits/s)
        self._sent_at: dict[str, int] = {}  # rid -> the last bits/s it sent at (not 0)
        self._frames = 0  # the frames of the layer counted at each time (`frames`)
        self._counted: Producer | None = None
        # rid -> the counted layer's frames when that layer last sent one
        self._counted_seen: dict[str, int] = {}

    @property
    def rids(self) -> tuple[str, ...]:
        return tuple(self.producers)

    @property
    def frames(self) -> int:
        """Frames the camera sent, growing at its frame rate whatever layers run (the link
        quality's fps): every layer carries every frame, so only one layer's are counted."""
        single = self._single
        return single.frames if single is not None else self._frames

    def on_packet(self, packet: ReceivedPacket) -> None:
        single = self._single
        if single is not None:
            single.on_packet(packet)
            return
        producer = self.producers.get(packet.rid) if packet.rid is not None else None
        if producer is not None:
            frames = producer.frames
            producer.on_packet(packet)
            if producer.frames != frames:
                self._count(producer, producer.frames - frames)

    def _count(self, producer: Producer, frames: int) -> None:
        """`frames` new frames of `producer`'s layer: counted if it is the counted layer, or
        once the counted one has sent no frame since this layer's previous one (it stopped or
        was paused; a slower layer also gives way to a faster one)."""
        counted = self._counted
        if counted is not None and producer is not counted:
            seen = self._counted_seen.get(producer.rid)
            self._counted_seen[producer.rid] = counted.frames
            if seen != counted.frames:
                return
        if producer is not counted:
            self._counted = producer
            self._counted_seen = {}
        self._frames += frames

    def pause(self, rids: frozenset[str], now: float) -> None:
        """The layers the publisher is told to stop encoding now; those it is told to resume
        get RESUME_GRACE_S to send again before they count as stopped."""
        for rid in self.paused - rids:
            self._resumed_at[rid] = now
        self.paused = rids

    def available(self, now: float) -> tuple[Layer, ...]:
        """The layers a subscriber may get: sized by a keyframe, and sending (or paused here,
        so they resume when wanted). A camera without simulcast: its one layer, always. Each
        with the bitrate it sends at (while paused, the last; 0 before it ever sent)."""
        if self._single is not None:
            rate = self._bitrate(CAMERA_LAYER.rid, self._single, now)
            return (replace(CAMERA_LAYER, bitrate_bps=rate),)
        layers = []
        for rid, producer in self.producers.items():
            if producer.size is None:
                continue
            heard = producer.last_packet_at or -1e9
            resumed = self._resumed_at.get(rid, -1e9)
            sending = now - heard <= LAYER_STOPPED_S or now - resumed <= RESUME_GRACE_S
            if not sending and rid not in self.paused:
                continue
            width, height = producer.size
            layers.append(Layer(rid, width, height, self._bitrate(rid, producer, now)))
        return tuple(layers)

    def _bitrate(self, rid: str, producer: Producer, now: float) -> int:
        """Bits per second over about the last BITRATE_WINDOW_S (sampled when asked); while
        it sends nothing (paused), the last rate it sent at."""
        at, counted, rate = self._rates.get(rid, (now, producer.bytes, 0))
        if now - at >= BITRATE_WINDOW_S:
            rate = int((producer.bytes - counted) * 8 / (now - at))
            at, counted = now, producer.bytes
        self._rates[rid] = (at, counted, rate)
        if rate > 0:
            self._sent_at[rid] = rate
        return self._sent_at.get(rid, 0)


def available_rids(
    cameras: Mapping[str, VideoLayers | None], now: float
) -> dict[str, tuple[str, ...]]:
    """Each simulcast camera's available layers (what the router re-plans on when it changes)."""
    return {
        pid: tuple(layer.rid for layer in camera.available(now))
        for pid, camera in cameras.items()
        if camera is not None and camera.simulcast
    }


class LayerWatch:
    """When the router must re-plan video though no view changed: a simulcast layer started or
    stopped sending, or a switch settled (its old layer may be paused now)."""

    def __init__(self) -> None:
        self._planned: dict[str, tuple[str, ...]] = {}
        self.settled = False

    def planned(self, cameras: Mapping[str, VideoLayers | None], now: float) -> None:
        self._planned = available_rids(cameras, now)
        self.settled = False

    def due(self, cameras: Mapping[str, VideoLayers | None], now: float) -> bool:
        return self.settled or available_rids(cameras, now) != self._planned

    async def run(
        self, cameras: Callable[[], Mapping[str, VideoLayers | None]], replan: Callable[[], None]
    ) -> None:
        """Check every LAYER_CHECK_S; `replan` (which calls `planned`) when due."""
        while True:
            await asyncio.sleep(LAYER_CHECK_S)
            if self.due(cameras(), time.monotonic()):
                replan()


def layer_sources(
    camera_of: Callable[[str], VideoLayers | None], picks: tuple[tuple[str, Switch], ...]
) -> list[tuple[Producer, Producer | None]]:
    """For each (publisher, switch) a subscriber's video slots carry: the layer's producer
    flowing now and, while the switch waits for the wanted layer's keyframe, that layer's
    producer (ForwardingGraph.assign)."""
    sources: list[tuple[Producer, Producer | None]] = []
    for pid, switch in picks:
        camera = camera_of(pid)
        if camera is None:
            continue
        flowing = camera.producers.get(switch.current or switch.wanted or "")
        if flowing is None:
            continue
        wanted = camera.producers.get(switch.wanted or "")
        sources.append((flowing, wanted if switch.current and switch.pending else None))
    return sources
