"""`/metrics` in the Prometheus text format (prometheus-client).

Nothing here runs per packet: a scrape reads the counters the forwarding path keeps anyway
(server/media/stats.py), the running sessions (the `LiveView`) and the cluster's events, and
this process's CPU and memory (prometheus-client's process collector). Each app has its own
registry, so several apps in one process (tests) do not collide, and every series carries a
`process` label (the node id) so that the processes sharing a Redis are told apart."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from rooms.quality import Level
from server.media.stats import DELAY_BOUNDS_S, KINDS, ForwardingStats
from server.web import LiveView

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
DIRECTIONS = ("up", "down")
LINK_LEVELS = (*(level.value for level in Level), "unknown")  # unknown: not measured yet


@dataclass
class ClusterEvents:
    """Counted by the code that spreads sessions over processes: joins refused because every
    process is full, and sessions taken over here from a process that died."""

    joins_refused_capacity: int = 0
    failovers: int = 0


class Metrics:
    """This process's registry: `render()` is the body of `/metrics`."""

    def __init__(self, process: str, stats: ForwardingStats, live: LiveView) -> None:
        self.cluster = ClusterEvents()
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(process, stats, live, self.cluster))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Collector:
    def __init__(
        self, process: str, stats: ForwardingStats, live: LiveView, cluster: ClusterEvents
    ) -> None:
        self.process = process
        self.stats = stats
        self.live = live
        self.cluster = cluster
        self.process_collector = ProcessCollector(registry=None)  # CPU seconds, memory, fds

    def collect(self) -> Iterator[Metric]:
        for family in (*self._circle(), *self.process_collector.collect()):
            yield _labelled(family, "process", self.process)

    def _circle(self) -> Iterable[Metric]:
        stats, cluster = self.stats, self.cluster
        sessions, participants = self.live.counts()
        yield GaugeMetricFamily("circle_sessions", "Sessions running here", sessions)
        yield GaugeMetricFamily(
            "circle_participants", "Participants in the sessions running here", participants
        )
        yield GaugeMetricFamily(
            "circle_unwatched_publishers",
            "Publishers whose camera nobody watches (last-N), told to stop encoding it",
            self.live.unwatched_publishers(),
        )
        by_kind = {
            ("received_packets", "RTP packets received from publishers"): "packets_in",
            ("received_bytes", "RTP payload bytes received from publishers"): "bytes_in",
            ("forwarded_packets", "RTP packets sent to subscribers"): "packets_out",
            ("forwarded_bytes", "RTP payload bytes sent to subscribers"): "bytes_out",
        }
        for (name, documentation), attribute in by_kind.items():
            family = CounterMetricFamily(f"circle_{name}", documentation, labels=["kind"])
            for kind in KINDS:
                family.add_metric([kind], getattr(stats.by_kind[kind], attribute))
            yield family
        delays = stats.delay_histogram
        bounds = [*map(str, DELAY_BOUNDS_S), "+Inf"]
        yield HistogramMetricFamily(
            "circle_forwarding_delay_seconds",
            "Time from a frame's last packet arriving to its being sent, per subscriber",
            buckets=list(zip(bounds, accumulate(delays.counts), strict=True)),
            sum_value=delays.sum_s,
        )
        for name, documentation, value in (
            ("keyframe_requests", "Keyframe requests sent to publishers", stats.keyframe_requests),
            ("queue_dropped_frames", "Frames dropped by stuck subscribers", stats.frames_dropped),
            ("joins_refused_capacity", "Joins refused, all full", cluster.joins_refused_capacity),
            ("failovers", "Sessions taken over from a dead process", cluster.failovers),
        ):
            yield CounterMetricFamily(f"circle_{name}", documentation, value)
        levels = GaugeMetricFamily(
            "circle_link_quality_participants",
            "Participants with media, by link direction and quality level",
            labels=["direction", "level"],
        )
        counted = self.live.link_levels()
        for direction in DIRECTIONS:
            for level in LINK_LEVELS:
                levels.add_metric([direction, level], counted.get((direction, level), 0))
        yield levels


def _labelled(family: Metric, name: str, value: str) -> Metric:
    """The same family with one more label on every sample."""
    copy = Metric(family.name, family.documentation, family.type, family.unit)
    copy.samples = [s._replace(labels={**s.labels, name: value}) for s in family.samples]
    return copy
