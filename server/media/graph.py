"""The producer-consumer graph of one router: which producer feeds which consumer.

Producers and consumers never reference each other (as in mediasoup's Router). This graph
keeps both maps, is the listener of every producer (frames, keyframe restarts) and every
consumer (keyframe requests), and passes each along the one edge it concerns.

A consumer may also wait on a second producer (`prepare`: another simulcast layer of the same
camera): its producer keeps feeding it until that one's next keyframe, where it moves over
(no frozen picture while the new layer's keyframe is on its way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from server.media.consumer import Consumer
from server.media.forwarding import ForwardedFrame
from server.media.producer import Producer
from server.media.rtp_writer import ntp_now


class ForwardingGraph:
    def __init__(self, on_started: Callable[[Consumer, Producer], None] | None = None) -> None:
        self._consumers: dict[Producer, set[Consumer]] = {}
        self._producers: dict[Consumer, Producer] = {}
        self._next: dict[Consumer, Producer] = {}  # the producer a consumer moves to
        self._waiting: dict[Producer, set[Consumer]] = {}  # ... at that producer's keyframe
        self._on_started = on_started  # a video consumer began forwarding its producer

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
            fed = self._consumers[old]
            fed.discard(consumer)
            if not fed:
                del self._consumers[old]
        if producer is None:
            del self._producers[consumer]
        else:
            self._producers[consumer] = producer
            self._consumers.setdefault(producer, set()).add(consumer)
        return True

    def remove_producer(self, producer: Producer) -> None:
        """Idle every consumer `producer` feeds, and cancel the moves to it."""
        for consumer in list(self._waiting.get(producer, ())):
            self.prepare(consumer, None)
        for consumer in list(self._consumers.get(producer, ())):
            self.connect(consumer, None)

    def producer_of(self, consumer: Consumer) -> Producer | None:
        return self._producers.get(consumer)

    def consumers_of(self, producer: Producer) -> frozenset[Consumer]:
        return frozenset(self._consumers.get(producer, ()))

    # ProducerListener

    def on_frame(self, producer: Producer, frame: ForwardedFrame) -> None:
        if frame.keyframe and producer in self._waiting:
            for consumer in self._waiting.pop(producer):
                del self._next[consumer]
                self._move(consumer, producer)
                consumer.switched_at_keyframe()
                if self._on_started is not None:
                    self._on_started(consumer, producer)
        consumers = self._consumers.get(producer)
        if not consumers:
            return
        # One wall-clock sample per frame, shared by its subscribers (abs-send-time and the
        # timing of sender reports), instead of one per packet per subscriber.
        ntp = ntp_now()
        for consumer in consumers:
            consumer.deliver(frame, ntp)

    def on_keyframe_needed(self, producer: Producer) -> None:
        for consumer in self._consumers.get(producer, ()):
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
