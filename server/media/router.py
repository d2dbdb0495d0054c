"""The media plane of one session: each participant's publish and subscribe peer connections,
their producers and consumers, and (in its ForwardingGraph) which producer feeds which consumer.

It emits events (slot changes, audio levels, failures) through callbacks; the signalling
layer turns them into messages. It never decodes or encodes media.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)

from rooms.errors import Refusal
from rooms.quality import LinkSample
from server.background import BackgroundTasks
from server.config import MediaConfig
from server.media import aiortc_hooks, aiortc_receive, aiortc_send, link_samples, sdp
from server.media.bandwidth_estimator import BandwidthEstimator
from server.media.compiled_send import new_transport_sequence
from server.media.consumer import Consumer
from server.media.downlink_feedback import FeedbackReader
from server.media.graph import ForwardingGraph
from server.media.last_n import Member, VideoSelection
from server.media.participant import ParticipantMedia, Slot
from server.media.peer_setup import (
    KINDS,
    MADE_PEER_CONNECTIONS,
    codec_preferences,
    gathered,
    ice_server,
)
from server.media.probe import LinkProbe
from server.media.producer import AudioLevel, Producer
from server.media.selection import Switch, Tile
from server.media.simulcast import LayerWatch, RidDemux, VideoLayers, layer_sources
from server.media.stats import ForwardingStats
from server.media.transport_cc import answered_transport_cc, offer_transport_cc

log = logging.getLogger(__name__)


class MediaRouter:
    def __init__(
        self,
        config: MediaConfig,
        stats: ForwardingStats,
        on_slots: Callable[[str, list[Slot]], None],
        on_audio_level: Callable[[AudioLevel], None],
        on_failed: Callable[[str], None],
        on_video_watched: Callable[[str, tuple[str, ...]], None] = lambda pid, rids: None,
        on_held_back: Callable[[str, frozenset[str]], None] = lambda pid, publishers: None,
    ) -> None:
        self.config = config
        self.stats = stats
        self._on_slots = on_slots
        self._on_audio_level = on_audio_level
        self._on_failed = on_failed
        # a publisher's camera layers to encode (none: unwatched), on change
        self._on_video_watched = on_video_watched
        # a subscriber's tiles its downlink estimate leaves without video, on change
        self._on_held_back = on_held_back
        self._budget_planned_at = 0.0  # when an estimate last re-planned
        self.participants: dict[str, ParticipantMedia] = {}
        self.graph = ForwardingGraph(on_started=self._video_started, stats=stats)
        self.video = VideoSelection()  # last-N: which video each subscriber's slots carry
        self._background = BackgroundTasks()
        self._layer_watch: LayerWatch | None = None  # from the first simulcast publish

    def _rtc_configuration(self) -> RTCConfiguration:
        return RTCConfiguration(
            iceServers=[ice_server(u) for u in self.config.ice_servers],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )

    def _new_pc(self, pid: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(self._rtc_configuration())
        MADE_PEER_CONNECTIONS.add(pc)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and pc is self._subscribe_pc(pid):
                for consumers in self.participants[pid].slots.values():
                    for consumer in consumers:
                        consumer.activate()
            elif pc.connectionState == "failed" and self._current(pid, pc):
                log.info("participant %s: peer connection failed", pid)
                self._on_failed(pid)

        return pc

    def _current(self, pid: str, pc: RTCPeerConnection) -> bool:
        media = self.participants.get(pid)
        return media is not None and pc in (media.publish_pc, media.subscribe_pc)

    def _subscribe_pc(self, pid: str) -> RTCPeerConnection | None:
        media = self.participants.get(pid)
        return media.subscribe_pc if media else None

    def add(self, pid: str, room_id: str, hidden: bool = False) -> None:
        self.participants[pid] = ParticipantMedia(pid, room_id, hidden=hidden)

    def _get(self, pid: str) -> ParticipantMedia:
        media = self.participants.get(pid)
        if media is None:
            raise Refusal("not_found", "participant has no media session")
        return media

    def _remote_sdp(self, text: str) -> str:
        return sdp.filter_remote_candidates(text, self.config.remote_networks)

    def _local_sdp(self, text: str) -> str:
        return sdp.announce_address(sdp.with_opus_dtx_fec(text), self.config.announced_ip)

    async def publish(self, pid: str, offer_sdp: str) -> str:
        """Answer the participant's publish offer (browser sends, server receives)."""
        media = self._get(pid)
        if media.publish_pc is not None:
            raise Refusal("invalid", "already publishing")
        try:
            sdp.check_offer(offer_sdp, self.config.max_sdp_bytes)
        except sdp.SdpError as exc:
            raise Refusal("invalid_sdp", str(exc)) from exc
        kinds = [k for k in KINDS if f"m={k} " in offer_sdp]
        simulcast = sdp.simulcast_offer(offer_sdp)
        transport_cc = sdp.transport_cc_offer(offer_sdp) if self.config.transport_cc else {}
        pc = self._new_pc(pid)
        producers: dict[str, Producer] = {}
        camera: VideoLayers | None = None
        for kind in kinds:
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            if kind == "audio":
                producers[kind] = self._producer(pid, transceiver.receiver, kind)
                aiortc_receive.receive_directly(
                    transceiver.receiver,
                    producers[kind].on_packet,
                    transport_cc_id=transport_cc.get(kind, 0),
                )
            else:
                camera = self._camera(
                    pid, transceiver.receiver, simulcast, transport_cc.get(kind, 0)
                )
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(self._remote_sdp(offer_sdp), "offer")
            )
            await gathered(pc, pc.createAnswer(), self.config)
        except Refusal:
            await pc.close()
            raise
        except Exception as exc:  # aiortc raises ValueError, OperationError, ... on bad SDP
            await pc.close()
            raise Refusal("invalid_sdp", f"cannot answer this offer: {exc}") from exc
        media.publish_pc = pc
        media.producers = producers
        media.camera = camera
        self._rewire()
        answer = sdp.accept_transport_cc(self._local_sdp(pc.localDescription.sdp), transport_cc)
        if camera is not None and simulcast is not None:
            answer = sdp.accept_simulcast(answer, simulcast)
            self._watch_layers()
        return answer

    def _producer(self, pid: str, receiver: RTCRtpReceiver, kind: str, rid: str = "") -> Producer:
        pli = self._pli_sender(receiver)
        return Producer(kind, pid, pli, self.stats, self.graph, self._on_audio_level, rid=rid)

    def _camera(
        self,
        pid: str,
        receiver: RTCRtpReceiver,
        simulcast: sdp.SimulcastOffer | None,
        transport_cc_id: int,
    ) -> VideoLayers:
        """The publisher's camera, one producer per layer, fed on the lean path
        (aiortc_receive.py) with no decoder behind it."""
        camera = VideoLayers(
            lambda rid: self._producer(pid, receiver, "video", rid),
            simulcast.rids if simulcast else None,
        )
        demux = RidDemux(simulcast) if simulcast else None
        aiortc_receive.receive_directly(receiver, camera.on_packet, demux, transport_cc_id)
        return camera

    def _watch_layers(self) -> None:
        if self._layer_watch is None:
            self._layer_watch = LayerWatch()
            self._background.spawn(self._layer_watch.run(self._cameras, self._rewire))

    def _cameras(self) -> dict[str, VideoLayers | None]:
        return {pid: m.camera for pid, m in self.participants.items()}

    def _camera_of(self, pid: str) -> VideoLayers | None:
        media = self.participants.get(pid)
        return media.camera if media else None

    def _add_slot(
        self, pc: RTCPeerConnection, kind: str, index: int, feedback: FeedbackReader
    ) -> Consumer:
        """One pre-negotiated subscriber slot that sends what its producer forwards, on the
        lean path (consumer.py); the connection's transport-cc feedback goes to `feedback`."""
        consumer = Consumer(kind, index, self.stats, self.graph)
        transceiver = pc.addTransceiver(consumer, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(kind))
        aiortc_send.send_directly(transceiver.sender, consumer, feedback.on_rtcp)
        aiortc_hooks.on_keyframe_request(transceiver.sender, consumer.request_keyframe)
        return consumer

    def _pli_sender(self, receiver: RTCRtpReceiver) -> Callable[[int], None]:
        def send(ssrc: int) -> None:
            self._background.spawn(aiortc_hooks.send_picture_loss(receiver, ssrc))

        return send

    async def subscribe(self, pid: str) -> tuple[str, list[Slot]]:
        """Offer the participant a subscribe connection with fixed slots of each kind."""
        media = self._get(pid)
        if media.subscribe_pc is not None:
            raise Refusal("invalid", "already subscribed")
        pc = self._new_pc(pid)
        media.subscribe_pc = pc
        # its downlink estimate, from the transport-cc feedback on what its slots send
        feedback = FeedbackReader(
            new_transport_sequence(),
            BandwidthEstimator(),
            lambda bps: self.set_estimate(pid, bps),
        )
        slots = {
            kind: [self._add_slot(pc, kind, i, feedback) for i in range(self.config.slots_per_kind)]
            for kind in KINDS
        }
        try:
            await gathered(pc, pc.createOffer(), self.config)
        except Refusal:
            media.subscribe_pc = None
            await pc.close()
            raise
        for transceiver in pc.getTransceivers():
            track = transceiver.sender.track
            assert isinstance(track, Consumer)
            track.mid = transceiver.mid
        # Only now, with every mid known, may _rewire fill these slots and announce them.
        media.slots = slots
        self._rewire(notify=False)
        self._background.spawn(self._expire_unanswered(pid, pc))
        offer, media.transport_cc_id = offer_transport_cc(self._local_sdp(pc.localDescription.sdp))
        media.feedback = feedback
        media.probe = LinkProbe(feedback, lambda count, size: self._pad(media, count, size))
        return offer, self.slots(pid)

    async def _expire_unanswered(self, pid: str, pc: RTCPeerConnection) -> None:
        """An offer still unanswered after the timeout is closed (its sockets and what they
        hold go), and the page is told to start its media again, as after a failure."""
        await asyncio.sleep(self.config.subscribe_answer_timeout_s)
        media = self.participants.get(pid)
        if media is None or media.subscribe_pc is not pc or pc.signalingState != "have-local-offer":
            return
        log.info("participant %s: subscribe offer unanswered; closed", pid)
        media.subscribe_pc = None
        for consumers in media.slots.values():
            for consumer in consumers:
                self.graph.connect(consumer, None)
        media.slots = {}
        await pc.close()
        self._on_failed(pid)

    async def subscribe_answer(self, pid: str, answer_sdp: str) -> None:
        media = self._get(pid)
        pc = media.subscribe_pc
        if pc is None or pc.signalingState != "have-local-offer":
            raise Refusal("invalid", "no subscribe offer is waiting for an answer")
        if len(answer_sdp.encode()) > self.config.max_sdp_bytes or not answer_sdp.startswith("v=0"):
            raise Refusal("invalid_sdp", "not an SDP answer")
        ext_id, feedback = media.transport_cc_id, media.feedback
        if (
            ext_id is not None
            and feedback is not None
            and answered_transport_cc(answer_sdp, ext_id)
        ):
            for consumers in media.slots.values():
                for consumer in consumers:
                    consumer.number_packets(ext_id, feedback.numbering)
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(self._remote_sdp(answer_sdp), "answer")
            )
        except Exception as exc:
            raise Refusal("invalid_sdp", f"cannot apply this answer: {exc}") from exc

    def slots(self, pid: str) -> list[Slot]:
        media = self._get(pid)
        return [
            Slot(c.mid or "", c.kind, self._source_id(c))
            for kind in KINDS
            for c in media.slots.get(kind, [])
        ]

    def _source_id(self, consumer: Consumer) -> str | None:
        producer = self.graph.producer_of(consumer)
        return producer.participant_id if producer else None

    def move(self, pid: str, room_id: str) -> None:
        self._get(pid).room_id = room_id
        self.video.clear_view(pid)  # its page shows the old room's tiles until it reports
        self._rewire()

    async def link_samples(
        self, pid: str, now: float
    ) -> tuple[LinkSample | None, LinkSample | None]:
        """This participant's transport counters, upstream (our receivers) and downstream
        (their receiver reports on our senders), at wall time `now`."""
        media = self.participants.get(pid)
        if media is None:
            return None, None
        return await link_samples.sample(media, now)

    def hold_video(self, pid: str, keep: set[str] | None) -> None:
        """Graceful degradation for a subscriber with a poor downstream: send video only from
        the participants in `keep` (spotlight, active speaker); None sends all again."""
        media = self.participants.get(pid)
        if media is not None:
            media.video_kept = keep
            self._hold(media)

    def _hold(self, media: ParticipantMedia) -> None:
        """Hold the video slots whose source is not kept (checked again after each rewire)."""
        keep = media.video_kept
        for consumer in media.slots.get("video", []):
            consumer.hold(keep is not None and self._source_id(consumer) not in keep)

    def set_view(self, pid: str, tiles: Iterable[Tile]) -> None:
        """The tiles `pid`'s page shows (last-N): its video slots carry only those."""
        self._get(pid)
        self.video.set_view(pid, tiles)
        self._rewire()

    def set_speaker(self, room_id: str, pid: str | None) -> None:
        """`room_id`'s active speaker (None: nobody): its tile gets the top layer. Re-plans
        only when that can change a layer (VideoSelection.set_speaker)."""
        if self.video.set_speaker(room_id, pid):
            self._rewire()

    def set_spotlight(self, pid: str | None) -> None:
        """The session's spotlight (None: none): first in every budget, at the top layer."""
        if self.video.set_spotlight(pid):
            self._rewire()

    def set_estimate(self, pid: str, bps: int) -> None:
        """`pid`'s downlink bandwidth estimate: its video is allocated within it. Re-plans at
        most every `budget_replan_s` (an estimate comes with every feedback, ~10 a second)."""
        if pid not in self.participants:
            return
        self.video.set_budget(pid, bps)
        now = time.monotonic()
        if now - self._budget_planned_at >= self.config.budget_replan_s:
            self._budget_planned_at = now
            self._rewire()

    @staticmethod
    def _pad(media: ParticipantMedia, count: int, size: int) -> int:
        """Padding for a probe, on the first of `media`'s video slots that can send it."""
        for consumer in media.slots.get("video", []):
            sent = consumer.send_padding(count, size)
            if sent:
                return sent
        return 0

    def _start_probes(self, now: float) -> None:
        """The probes this plan's allocations asked for (allocation.py, Probing)."""
        for media in self.participants.values():
            allocation = self.video.allocation(media.participant_id)
            if allocation is None or allocation.probe_bps is None or media.probe is None:
                continue
            if allocation.probed_at == now:
                sending = allocation.audio_bps + allocation.video_bps
                media.probe.start(allocation.probe_bps - sending)

    def _video_started(self, consumer: Consumer, producer: Producer) -> None:
        for sub in self.participants.values():
            if consumer in sub.slots.get("video", ()):
                self.video.started(sub.participant_id, producer.participant_id, producer.rid)
                if self._layer_watch is not None:
                    self._layer_watch.settled = True

    def _video_selected(self) -> dict[str, tuple[tuple[str, Switch], ...]]:
        """Each subscriber's video publishers and layers; pauses the layers nobody watches, and
        tells the publishers whose layers to encode changed."""
        now = time.monotonic()
        if self._layer_watch is not None:
            self._layer_watch.planned(self._cameras(), now)
        members = [
            Member(
                m.participant_id,
                m.room_id,
                m.camera is not None and not m.hidden,
                len(m.slots.get("video", [])),
                m.camera.available(now) if m.camera else (),
                publishes_audio="audio" in m.producers and not m.hidden,
            )
            for m in self.participants.values()
        ]
        plan = self.video.plan(members, now)
        for pid, paused in plan.told.items():
            camera = self.participants[pid].camera
            if camera is not None:
                camera.pause(paused, now)
                self._on_video_watched(pid, tuple(r for r in camera.rids if r not in paused))
        for pid, publishers in plan.held_back.items():
            self._on_held_back(pid, publishers)
        self._start_probes(now)
        return plan.selected

    def set_hidden(self, pid: str, hidden: bool) -> None:
        """Stop (or resume) sending `pid`'s media to anyone: they stepped away (or are back)."""
        media = self._get(pid)
        if media.hidden != hidden:
            media.hidden = hidden
            self._rewire()

    def set_paused(self, pid: str, kind: str, paused: bool) -> None:
        for producer in self._get(pid).all_producers():
            if producer.kind == kind:
                producer.set_paused(paused)

    def _rewire(self, notify: bool = True) -> None:
        """Point every subscriber's audio slots at the others in its room and its video slots
        at the publishers and layers last-N selects, keeping slots that already show the right
        publisher (no switch, no keyframe wait; another layer of it at that layer's keyframe);
        a new source starts at its keyframe."""
        video = self._video_selected()
        for sub in self.participants.values():
            if not sub.slots:
                continue
            before = self.slots(sub.participant_id)
            audio = [
                pub.participant_id
                for pub in self.participants.values()
                if pub is not sub
                and pub.room_id == sub.room_id
                and not pub.hidden
                and "audio" in pub.producers
            ]
            self.graph.assign(
                sub.slots["audio"],
                [(self.participants[pid].producers["audio"], None) for pid in audio],
            )
            picks = video.get(sub.participant_id, ())
            self.graph.assign(sub.slots["video"], layer_sources(self._camera_of, picks))
            self._hold(sub)
            after = self.slots(sub.participant_id)
            if notify and after != before:
                self._on_slots(sub.participant_id, after)

    async def remove(self, pid: str) -> None:
        media = self.participants.pop(pid, None)
        if media is None:
            return
        self.video.forget(pid)
        if media.probe is not None:
            media.probe.stop()
        self._rewire()  # before closing the producers, so the others' slot maps show the change
        for producer in media.all_producers():
            self.graph.remove_producer(producer)
        for consumers in media.slots.values():
            for consumer in consumers:
                self.graph.connect(consumer, None)
        for pc in (media.publish_pc, media.subscribe_pc):
            if pc is not None:
                await pc.close()

    async def reset(self, pid: str, room_id: str, hidden: bool = False) -> None:
        """Their peer connections are closed and new ones may follow (a reconnect, a failed
        link), in `room_id` (the room the session has them in): their new media reaches that
        room only (nobody while `hidden`)."""
        await self.remove(pid)
        self.add(pid, room_id, hidden)

    async def close(self) -> None:
        for pid in list(self.participants):
            await self.remove(pid)
        self._background.cancel_all()
