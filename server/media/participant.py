"""One participant's media in a router: its peer connections, what it publishes (audio as a
producer, the camera as its layers) and its subscriber slots."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc import RTCPeerConnection

from server.media.consumer import Consumer
from server.media.downlink_feedback import FeedbackReader
from server.media.probe import LinkProbe
from server.media.producer import Producer
from server.media.simulcast import VideoLayers


@dataclass(frozen=True, slots=True)
class Slot:
    mid: str
    kind: str
    participant_id: str | None


@dataclass
class ParticipantMedia:
    participant_id: str
    room_id: str
    publish_pc: RTCPeerConnection | None = None
    subscribe_pc: RTCPeerConnection | None = None
    producers: dict[str, Producer] = field(default_factory=dict)  # audio (the camera's below)
    camera: VideoLayers | None = None
    slots: dict[str, list[Consumer]] = field(default_factory=dict)
    video_kept: set[str] | None = None  # hold_video's keep-set (None: nothing held)
    hidden: bool = False  # stepped away: sent to nobody, while still receiving their room
    # the subscribe connection's transport-cc: the offered extension id and the feedback
    transport_cc_id: int | None = None
    feedback: FeedbackReader | None = None
    probe: LinkProbe | None = None

    def all_producers(self) -> list[Producer]:
        layers = list(self.camera.producers.values()) if self.camera else []
        return list(self.producers.values()) + layers
