"""A subscriber's downlink bandwidth estimate from transport-wide feedback, after GoogCC
(libwebrtc's send-side estimator, draft-ietf-rmcat-gcc): a delay-based part and a loss-based
part, the estimate the lower of the two. Pure: the feedback and the time come in as values.

- Delay: packets sent within `burst_ms` of each other form a group; each group's arrival
  spacing minus its send spacing is the queue's growth. `DelayTrend` smooths the accumulated
  growth and fits a line over the last groups; `OveruseDetector` compares the slope with an
  adaptive threshold: a queue that keeps growing is overuse, one that drains is underuse.
- Rate (`DelayBasedRate`, AIMD): overuse cuts the rate to `decrease_factor` times what the
  receiver acknowledged arriving; normal use raises it (`increase_per_s` multiplicative, or
  one packet per response time near the capacity last seen); underuse holds it. It never
  climbs far above what arrives (`acked_cap_factor`).
- Loss (`LossBasedRate`): under `loss_low` the estimate may rise, over `loss_high` it falls
  by half the loss, between it holds: random loss on a link with room is not congestion.

Arrival times are the receiver's clock with its own base: only their differences are used.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EstimatorConfig:
    start_bps: int = 800_000  # below what a home link carries; the first overuse corrects it
    min_bps: int = 50_000
    max_bps: int = 20_000_000
    burst_ms: float = 5.0  # packets sent this close together form one group
    trend_groups: int = 20  # groups in the delay trend's line fit
    trend_smoothing: float = 0.9
    trend_gain: float = 4.0
    trend_deltas_cap: int = 60
    threshold_start_ms: float = 12.5
    threshold_min_ms: float = 6.0
    threshold_max_ms: float = 600.0
    threshold_up_per_ms: float = 0.0087  # adaptation while the trend exceeds the threshold
    threshold_down_per_ms: float = 0.039
    overuse_for_ms: float = 10.0  # overuse must last this long (and two groups)
    decrease_factor: float = 0.85
    # sending less than this share of the estimate, an overuse episode cuts it once, by half
    limited_decrease_floor: float = 0.5
    increase_per_s: float = 0.08
    # until the first overuse, a faster climb: what GoogCC's initial probes (3x, 6x) find
    start_increase_per_s: float = 0.5
    response_extra_ms: float = 100.0  # response time: the round trip plus this
    acked_window_ms: float = 500.0
    acked_cap_factor: float = 1.5
    acked_cap_extra_bps: int = 10_000
    capacity_spread: float = 0.25  # within this of the capacity last seen: additive increase
    loss_window_ms: float = 1000.0
    loss_low: float = 0.02
    loss_high: float = 0.10
    loss_decrease_every_ms: float = 300.0
    default_rtt_ms: float = 100.0
    probe_keep: float = 0.9  # a probe raises the estimate to this share of what it delivered


@dataclass(frozen=True, slots=True)
class PacketResult:
    """One packet the feedback reports on: when we sent it (our clock), its size, and when it
    arrived (the receiver's clock) or None when it was lost."""

    sequence: int
    sent_ms: float
    size_bytes: int
    arrived_ms: float | None


class Usage(enum.Enum):
    NORMAL = "normal"
    OVER = "over"
    UNDER = "under"


class DelayTrend:
    """The slope of the smoothed queueing delay over the last groups (a trendline filter),
    scaled as GoogCC scales it."""

    def __init__(self, config: EstimatorConfig) -> None:
        self._config = config
        self._first_arrival_ms: float | None = None
        self._accumulated_ms = 0.0
        self._smoothed_ms = 0.0
        self._deltas = 0
        self._points: deque[tuple[float, float]] = deque(maxlen=config.trend_groups)

    def add(self, arrival_delta_ms: float, send_delta_ms: float, arrival_ms: float) -> float:
        config = self._config
        if self._first_arrival_ms is None:
            self._first_arrival_ms = arrival_ms
        self._deltas = min(self._deltas + 1, config.trend_deltas_cap)
        self._accumulated_ms += arrival_delta_ms - send_delta_ms
        alpha = config.trend_smoothing
        self._smoothed_ms = alpha * self._smoothed_ms + (1 - alpha) * self._accumulated_ms
        self._points.append((arrival_ms - self._first_arrival_ms, self._smoothed_ms))
        points = self._points
        count = len(points)
        if count < 2:
            return 0.0
        # least squares in plain loops: this runs for every group of every feedback
        x_sum = y_sum = 0.0
        for x, y in points:
            x_sum += x
            y_sum += y
        x_mean, y_mean = x_sum / count, y_sum / count
        covariance = spread = 0.0
        for x, y in points:
            dx = x - x_mean
            covariance += dx * (y - y_mean)
            spread += dx * dx
        if spread == 0:
            return 0.0
        return self._deltas * (covariance / spread) * config.trend_gain


class OveruseDetector:
    """Overuse, underuse or normal from the trend, against a threshold that adapts so that a
    link shared with other traffic is not starved (GoogCC's adaptive threshold)."""

    def __init__(self, config: EstimatorConfig) -> None:
        self._config = config
        self.threshold_ms = config.threshold_start_ms
        self._last_ms: float | None = None
        self._over_since_ms: float | None = None
        self._over_count = 0
        self._previous_trend = 0.0
        self.usage = Usage.NORMAL

    def detect(self, trend: float, now_ms: float) -> Usage:
        config = self._config
        if trend > self.threshold_ms:
            if self._over_since_ms is None:
                self._over_since_ms = now_ms
            self._over_count += 1
            lasting = now_ms - self._over_since_ms >= config.overuse_for_ms
            if lasting and self._over_count > 1 and trend >= self._previous_trend:
                self.usage = Usage.OVER
        else:
            self._over_since_ms, self._over_count = None, 0
            self.usage = Usage.UNDER if trend < -self.threshold_ms else Usage.NORMAL
        self._previous_trend = trend
        self._adapt(trend, now_ms)
        return self.usage

    def _adapt(self, trend: float, now_ms: float) -> None:
        config = self._config
        last, self._last_ms = self._last_ms, now_ms
        if last is None or abs(trend) > self.threshold_ms + 15.0:
            return  # a spike (a route change) must not move the threshold
        k = (
            config.threshold_up_per_ms
            if abs(trend) > self.threshold_ms
            else config.threshold_down_per_ms
        )
        elapsed = min(now_ms - last, 100.0)
        self.threshold_ms += k * (abs(trend) - self.threshold_ms) * elapsed
        self.threshold_ms = min(
            max(self.threshold_ms, config.threshold_min_ms), config.threshold_max_ms
        )


class AckedRate:
    """What the receiver says arrived, in bit/s over the last `acked_window_ms` of its clock."""

    def __init__(self, config: EstimatorConfig) -> None:
        self._window_ms = config.acked_window_ms
        self._arrivals: deque[tuple[float, int]] = deque()
        self._bytes = 0

    def add(self, arrived_ms: float, size_bytes: int) -> None:
        self._arrivals.append((arrived_ms, size_bytes))
        self._bytes += size_bytes
        while self._arrivals and self._arrivals[0][0] <= arrived_ms - self._window_ms:
            self._bytes -= self._arrivals.popleft()[1]

    @property
    def bps(self) -> float | None:
        """None until the arrivals span a fifth of the window (a rate from two packets is noise)."""
        if not self._arrivals:
            return None
        span_ms = self._arrivals[-1][0] - self._arrivals[0][0]
        if span_ms < self._window_ms / 5:
            return None
        return self._bytes * 8 * 1000.0 / max(span_ms, self._window_ms * 0.9)


class DelayBasedRate:
    """AIMD on the detector's verdicts, kept within reach of what arrives."""

    def __init__(self, config: EstimatorConfig) -> None:
        self._config = config
        self.bps = float(config.start_bps)
        self._updated_ms: float | None = None
        self._decreased_ms: float | None = None
        self._capacity_bps: float | None = None  # what arrived when the queue last overflowed
        self._usage = Usage.NORMAL  # the detector's verdict at the last update

    def update(self, usage: Usage, acked_bps: float | None, rtt_ms: float, now_ms: float) -> float:
        config = self._config
        elapsed_s = (
            0.0 if self._updated_ms is None else min(now_ms - self._updated_ms, 1000.0) / 1000.0
        )
        self._updated_ms = now_ms
        response_ms = rtt_ms + config.response_extra_ms
        before = self.bps
        previous_usage, self._usage = self._usage, usage
        if usage is Usage.OVER and acked_bps is not None:
            # sending far below the estimate (video held back), the queue grew from other
            # traffic or noise: what arrived says little of the link, so one cut by half for
            # the whole episode, not down to the audio's rate, whence video could never return
            floor = config.limited_decrease_floor * self.bps
            limited = acked_bps < floor
            due = self._decreased_ms is None or now_ms - self._decreased_ms >= response_ms
            if due and not (limited and previous_usage is Usage.OVER):
                self._decreased_ms = now_ms
                self._capacity_bps = acked_bps
                self.bps = min(self.bps, config.decrease_factor * max(acked_bps, floor))
        elif usage is Usage.NORMAL:
            capacity = self._capacity_bps
            if (
                capacity is not None
                and acked_bps is not None
                and acked_bps > capacity * (1 + config.capacity_spread)
            ):
                self._capacity_bps = capacity = None  # the link freed up
            if (
                capacity is not None
                and abs(self.bps - capacity) <= capacity * config.capacity_spread
            ):
                packet_bits = 1200 * 8
                self.bps += max(packet_bits * 1000.0 / response_ms, 4000.0) * elapsed_s
            else:
                rate = (
                    config.start_increase_per_s
                    if self._decreased_ms is None
                    else config.increase_per_s
                )
                self.bps += max(
                    self.bps * (math.pow(1 + rate, elapsed_s) - 1),
                    1000.0 * elapsed_s,
                )
            if acked_bps is not None:
                # no climbing far above what arrives; but sending less than the estimate (video
                # held back, silence) is no reason to lower it
                cap = config.acked_cap_factor * acked_bps + config.acked_cap_extra_bps
                self.bps = min(self.bps, max(before, cap))
        self.bps = min(max(self.bps, float(config.min_bps)), float(config.max_bps))
        return self.bps


class LossBasedRate:
    """The loss reported over the last `loss_window_ms` of our clock, and what it allows."""

    def __init__(self, config: EstimatorConfig) -> None:
        self._config = config
        self._reports: deque[tuple[float, int, int]] = deque()  # (when, lost, reported)
        self._lost = self._reported = 0  # summed over the reports kept
        self._decreased_ms: float | None = None

    def add(self, lost: int, reported: int, now_ms: float) -> None:
        self._reports.append((now_ms, lost, reported))
        self._lost += lost
        self._reported += reported
        while self._reports and self._reports[0][0] <= now_ms - self._config.loss_window_ms:
            _, gone_lost, gone_reported = self._reports.popleft()
            self._lost -= gone_lost
            self._reported -= gone_reported

    @property
    def loss(self) -> float:
        return self._lost / self._reported if self._reported else 0.0

    def limit(self, bps: float, previous_bps: float, now_ms: float) -> float:
        """What the loss lets the estimate be, given the delay-based `bps` and the estimate
        before (`previous_bps`)."""
        config = self._config
        loss = self.loss
        if loss < config.loss_low:
            return bps
        if loss <= config.loss_high:
            return min(bps, previous_bps)
        if (
            self._decreased_ms is None
            or now_ms - self._decreased_ms >= config.loss_decrease_every_ms
        ):
            self._decreased_ms = now_ms
            return min(bps, previous_bps * (1 - 0.5 * loss))
        return min(bps, previous_bps)


class BandwidthEstimator:
    """One subscriber's estimate: `on_feedback` with each feedback's packet results (in
    sending order) and our clock; `estimate_bps` is the lower of the delay- and loss-based."""

    def __init__(self, config: EstimatorConfig | None = None) -> None:
        self.config = config or EstimatorConfig()
        self._trend = DelayTrend(self.config)
        self.detector = OveruseDetector(self.config)
        self._acked = AckedRate(self.config)
        self._delay_based = DelayBasedRate(self.config)
        self.loss_based = LossBasedRate(self.config)
        self.rtt_ms = self.config.default_rtt_ms
        self.estimate_bps = self.config.start_bps
        # the group being filled and the last complete one: (first sent, last sent, last arrival)
        self._group: tuple[float, float, float] | None = None
        self._previous: tuple[float, float, float] | None = None

    def set_rtt(self, rtt_ms: float) -> None:
        """The round trip the subscriber's receiver reports say (it sets the response time)."""
        self.rtt_ms = rtt_ms

    def on_probe(self, delivered_bps: float) -> int:
        """A probe (more sent than the estimate for a moment, partly padding) delivered
        `delivered_bps`: the estimate rises to it, unless the link meanwhile showed overuse or
        heavy loss (what GoogCC does with a probe cluster's result)."""
        if self.detector.usage is Usage.OVER or self.loss_based.loss > self.config.loss_high:
            return self.estimate_bps
        raised = min(delivered_bps * self.config.probe_keep, float(self.config.max_bps))
        if raised > self.estimate_bps:
            self._delay_based.bps = max(self._delay_based.bps, raised)
            self.estimate_bps = int(raised)
        return self.estimate_bps

    def on_feedback(self, results: Sequence[PacketResult], now_ms: float) -> int:
        lost = 0
        for result in results:
            if result.arrived_ms is None:
                lost += 1
                continue
            self._acked.add(result.arrived_ms, result.size_bytes)
            self._group_packet(result.sent_ms, result.arrived_ms, now_ms)
        self.loss_based.add(lost, len(results), now_ms)
        delay_bps = self._delay_based.update(
            self.detector.usage, self._acked.bps, self.rtt_ms, now_ms
        )
        bounded = self.loss_based.limit(delay_bps, float(self.estimate_bps), now_ms)
        self.estimate_bps = int(min(max(bounded, self.config.min_bps), self.config.max_bps))
        return self.estimate_bps

    def _group_packet(self, sent_ms: float, arrived_ms: float, now_ms: float) -> None:
        group = self._group
        if group is not None and sent_ms - group[0] <= self.config.burst_ms:
            self._group = (group[0], max(group[1], sent_ms), max(group[2], arrived_ms))
            return
        if group is not None and self._previous is not None:
            send_delta = group[1] - self._previous[1]
            arrival_delta = group[2] - self._previous[2]
            trend = self._trend.add(arrival_delta, send_delta, group[2])
            self.detector.detect(trend, now_ms)
        if group is not None:
            self._previous = group
        self._group = (sent_ms, sent_ms, arrived_ms)
