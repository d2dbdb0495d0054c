"""Micro benchmark of a subscriber's transport-cc feedback on the server: microseconds of CPU
per feedback packet for `FeedbackReader.on_rtcp` (find the report in the RTCP packet, parse it,
match each number to what was sent, run the bandwidth estimator), over generated feedback
reporting `--per-report` packets sent 4 ms apart and received 4 ms apart (the link keeps up).

    .venv/bin/python -m bench.feedback_read [--reports 2000] [--per-report 25] [--repeats 3]

A browser subscriber sends 10-20 such reports a second. Bounded: a few seconds, one core, no
sockets; the best run is reported.
"""

from __future__ import annotations

import argparse
import time

from server.media.bandwidth_estimator import BandwidthEstimator
from server.media.downlink_feedback import FeedbackReader
from server.media.rtp_writer import TransportSequence
from server.media.transport_feedback import Feedback, build_feedback

SPACING_MS = 4


def run(reports: int, per_report: int) -> float:
    """CPU microseconds per feedback packet over one run."""
    numbering = TransportSequence()
    clock = [0.0]
    reader = FeedbackReader(numbering, BandwidthEstimator(), lambda bps: None, lambda: clock[0])
    spent = 0.0
    for n in range(reports):
        first = numbering.next
        start_ms = n * per_report * SPACING_MS
        for k in range(per_report):
            numbering.take(1100, now_ms=start_ms + SPACING_MS * k)
        reference_us = 30_000_000 + start_ms * 1000
        arrivals = tuple(reference_us + SPACING_MS * 1000 * k for k in range(per_report))
        packet = build_feedback(Feedback(1, 2, first, n & 0xFF, reference_us, arrivals))
        clock[0] = (start_ms + per_report * SPACING_MS) / 1000
        began = time.process_time()
        reader.on_rtcp(packet)
        spent += time.process_time() - began
    return spent / reports * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--per-report", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    best = min(run(args.reports, args.per_report) for _ in range(args.repeats))
    print(f"{best:.1f} us of CPU per feedback packet reporting {args.per_report} packets")


if __name__ == "__main__":
    main()
