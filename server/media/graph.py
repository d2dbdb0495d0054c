"""The producer-consumer graph of one router: which producer feeds which consumer.

Producers and consumers never reference each other (as in mediasoup's Router). This graph
keeps both maps, is the listener of every producer (frames, keyframe restarts) and every
consumer (keyframe requests), and passes each along the one edge it concerns.
"""

from __future__ import annotations

from collections.abc import Callable

from server.media.consumer import Consumer
from server.media.forwarding import ForwardedFrame
from server.media.producer import Producer
from server.media.rtp_writer import ntp_now


class ForwardingGraph:
    def __init__(self, on_started: Callable[[Consumer, Producer], None] | None = None) -> None:
        self._consumers: dict[Producer, set[Consumer]] = {}
        self._producers: dict[Consumer, Producer] = {}
        self._on_started = on_started  # a video consumer began forwarding its producer

    def connect(self, consumer: Consumer, producer: Producer | None) -> None:
        """Feed `consumer` from `producer` (None: idle); nothing happens if it already is."""
        old = self._producers.get(consumer)
        if producer is old:
            return
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
        consumer.source_changed(producer is not None)

    def remove_producer(self, producer: Producer) -> None:
        """Idle every consumer `producer` feeds."""
        for consumer in list(self._consumers.get(producer, ())):
            self.connect(consumer, None)

    def producer_of(self, consumer: Consumer) -> Producer | None:
        return self._producers.get(consumer)

    def consumers_of(self, producer: Producer) -> frozenset[Consumer]:
        return frozenset(self._consumers.get(producer, ()))

    # ProducerListener

    def on_frame(self, producer: Producer, frame: ForwardedFrame) -> None:
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
