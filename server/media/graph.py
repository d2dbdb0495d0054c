"""The producer-consumer graph of one router: which producer feeds which consumer.

Producers and consumers never reference each other (as in mediasoup's Router). This graph
keeps both maps, is the listener of every producer (frames, keyframe restarts) and every
consumer (keyframe requests), and passes each along the one edge it concerns.

A frame goes to a producer's steady consumers (consumer.py) in one call of the compiled
`fan_out`, and to the others through `Consumer.deliver`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
        self._on_started = on_started  # a video consumer began forwarding its producer
        self._stats = stats or ForwardingStats()  # what the fan-out sends is counted here

    def connect(self, consumer: Consumer, producer: Producer | None) -> None:
        """Feed `consumer` from `producer` (None: idle); nothing happens if it already is."""
        old = self._producers.get(consumer)
        if producer is old:
            return
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
        consumer.source_changed(producer is not None)

    def remove_producer(self, producer: Producer) -> None:
        """Idle every consumer `producer` feeds."""
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
