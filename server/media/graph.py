"""The producer-consumer graph of one router: which producer feeds which consumer.

Producers and consumers never reference each other (as in mediasoup's Router). This graph
keeps both maps, is the listener of every producer (frames, keyframe restarts) and every
consumer (keyframe requests), and passes each along the one edge it concerns.

A consumer may also wait on a second producer (`prepare`: another simulcast layer of the same
camera): its producer keeps feeding it until that one's next keyframe, where it moves over
(no frozen picture while the new layer's keyframe is on its way).

A frame goes to a producer's steady consumers (consumer.py) in one call of the compiled
`fan_out`, and to the others through `Consumer.deliver`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from server.media.compiled_send import CompiledRtpWriter, fan_out
from server.media.consumer import Consumer
from server.media.forwarding import ForwardedFrame
from server.media.producer import Producer
from server.media.rtp_writer import abs_send_time, ntp_now
from server.media.stats import ForwardingStats


@dataclass
class _Feed:
    """A producer's consumers, split once per change (never per frame) into those the compiled
    fan-out sends for, with their writers in the same order, and the others. The lists are
    replaced, never changed in place, so a frame being sent keeps the split it started with."""

    consumers: set[Consumer] = field(default_factory=set)
    steady: list[Consumer] = field(default_factory=list)
    writers: list[CompiledRtpWriter] = field(default_factory=list)
    others: list[Consumer] = field(default_factory=list)

    def split(self) -> None:
        steady = [(c, c.fan_out_writer) for c in self.consumers]
        self.steady = [c for c, writer in steady if writer is not None]
        self.writers = [writer for _, writer in steady if writer is not None]
        self.others = [c for c, writer in steady if writer is None]


class ForwardingGraph:
    def __init__(
        self,
        on_started: Callable[[Consumer, Producer], None] | None = None,
        stats: ForwardingStats | None = None,
    ) -> None:
        self._feeds: dict[Producer, _Feed] = {}
        self._producers: dict[Consumer, Producer] = {}
        self._next: dict[Consumer, Producer] = {}  # the producer a consumer moves to
        self._waiting: dict[Producer, set[Consumer]] = {}  # ... at that producer's keyframe
        self._on_started = on_started  # a video consumer began forwarding its producer
        self._stats = stats or ForwardingStats()  # what the fan-out sends is counted here

    def connect(self, consumer: Consumer, producer: Producer | None) -> None:
        """Feed `consumer` from `producer` (None: idle, and no move pending); nothing happens if
        it already is."""
        if producer is None:
            self.prepare(consumer, None)
        if self._move(consumer, producer):
            consumer.source_changed(producer is not None)

    def prepare(self, consumer: Consumer, producer: Producer | None) -> None:
        """Move `consumer` to `producer` at `producer`'s next keyframe (asked for now); None
        cancels a pending move."""
        old = self._next.pop(consumer, None)
        if old is not None:
            waiting = self._waiting[old]
            waiting.discard(consumer)
            if not waiting:
                del self._waiting[old]
        if producer is None or producer is self._producers.get(consumer):
            return
        self._next[consumer] = producer
        self._waiting.setdefault(producer, set()).add(consumer)
        producer.request_keyframe()

    def pending_of(self, consumer: Consumer) -> Producer | None:
        return self._next.get(consumer)

    def assign(
        self, consumers: Sequence[Consumer], sources: Sequence[tuple[Producer, Producer | None]]
    ) -> None:
        """Feed `consumers` (one subscriber's slots of a kind) from `sources`, one publisher's
        (producer flowing now, producer to move to at its keyframe or None) per slot, in order
        while slots last. A slot already carrying that publisher keeps it (no keyframe wait);
        the others are freed, then filled."""
        by_publisher = {flow.participant_id: (flow, after) for flow, after in sources}
        placed: set[str] = set()
        free: list[Consumer] = []
        for consumer in consumers:
            source = self._producers.get(consumer)
            publisher = source.participant_id if source is not None else None
            pick = by_publisher.get(publisher) if publisher is not None else None
            if pick is None or publisher in placed:
                self.connect(consumer, None)
                free.append(consumer)
                continue
            placed.add(pick[0].participant_id)
            self.connect(consumer, pick[0])
            self.prepare(consumer, pick[1])
        slots = iter(free)
        for flow, after in sources:
            if flow.participant_id in placed:
                continue
            slot = next(slots, None)
            if slot is None:
                return  # more sources than slots: the rest are not shown
            self.connect(slot, flow)
            self.prepare(slot, after)

    def _move(self, consumer: Consumer, producer: Producer | None) -> bool:
        old = self._producers.get(consumer)
        if producer is old:
            return False
        if old is not None:
            feed = self._feeds[old]
            feed.consumers.discard(consumer)
            if feed.consumers:
                feed.split()
            else:
                del self._feeds[old]
        if producer is None:
            del self._producers[consumer]
        else:
            self._producers[consumer] = producer
            feed = self._feeds.setdefault(producer, _Feed())
            feed.consumers.add(consumer)
            feed.split()
        return True

    def remove_producer(self, producer: Producer) -> None:
        """Idle every consumer `producer` feeds, and cancel the moves to it."""
        for consumer in list(self._waiting.get(producer, ())):
            self.prepare(consumer, None)
        feed = self._feeds.get(producer)
        for consumer in list(feed.consumers if feed else ()):
            self.connect(consumer, None)

    def producer_of(self, consumer: Consumer) -> Producer | None:
        return self._producers.get(consumer)

    def consumers_of(self, producer: Producer) -> frozenset[Consumer]:
        feed = self._feeds.get(producer)
        return frozenset(feed.consumers if feed else ())

    # ProducerListener

    def on_frame(self, producer: Producer, frame: ForwardedFrame) -> None:
        if frame.keyframe and producer in self._waiting:
            for consumer in self._waiting.pop(producer):
                del self._next[consumer]
                self._move(consumer, producer)
                consumer.switched_at_keyframe()
                if self._on_started is not None:
                    self._on_started(consumer, producer)
        feed = self._feeds.get(producer)
        if feed is None:
            return
        # One wall-clock sample per frame, shared by its subscribers (abs-send-time and the
        # timing of sender reports), instead of one per packet per subscriber.
        ntp = ntp_now()
        steady, writers = feed.steady, feed.writers
        if writers:
            payloads = frame.payloads
            failed = fan_out(
                writers, payloads, frame.timestamp, abs_send_time(ntp), frame.audio_level, ntp
            )
            self._stats.fanned_out(
                producer.kind,
                len(writers) - len(failed),
                len(payloads),
                frame.size,
                time.monotonic() - frame.arrival,
            )
            for index in failed:
                steady[index].fan_out_failed()
        for consumer in feed.others:
            consumer.deliver(frame, ntp)

    def on_keyframe_needed(self, producer: Producer) -> None:
        feed = self._feeds.get(producer)
        for consumer in list(feed.consumers if feed else ()):
            consumer.wait_for_keyframe()

    # ConsumerListener

    def on_keyframe_request(self, consumer: Consumer) -> None:
        producer = self._producers.get(consumer)
        if producer is not None:
            producer.request_keyframe()

    def on_started(self, consumer: Consumer) -> None:
        producer = self._producers.get(consumer)
        if producer is not None and self._on_started is not None:
            self._on_started(consumer, producer)

    def on_steadiness(self, consumer: Consumer) -> None:
        producer = self._producers.get(consumer)
        if producer is not None:
            self._feeds[producer].split()
