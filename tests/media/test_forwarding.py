"""The forwarding path's pure pieces: VP8 frame assembly, keyframe detection, rebasing."""

from __future__ import annotations

import pytest

from server.media.forwarding import (
    TS_MOD,
    TimestampRebaser,
    Vp8FrameAssembler,
    seq_delta,
    vp8_frame_start,
)

pytestmark = pytest.mark.unit

# RFC 7741 descriptor: X=1, S=1, PID=0 / I=1 / 15-bit picture id; then the VP8 payload header.
KEY_START = bytes([0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00])  # P bit 0: keyframe
DELTA_START = bytes([0x90, 0x80, 0x80, 0x02, 0x11, 0x02, 0x00])  # P bit 1: delta frame
MIDDLE = bytes([0x80, 0x80, 0x80, 0x01, 0xAA, 0xBB])  # S=0: continuation


def test_vp8_frame_start_reads_descriptor_and_keyframe_bit() -> None:
    assert vp8_frame_start(KEY_START) == (True, True)
    assert vp8_frame_start(DELTA_START) == (True, False)
    assert vp8_frame_start(MIDDLE) == (False, False)
    assert vp8_frame_start(bytes([0x10, 0x00])) == (True, True)  # no extension byte
    assert vp8_frame_start(b"") == (False, False)
    assert vp8_frame_start(bytes([0x90])) == (False, False)  # truncated


def test_seq_delta_wraps() -> None:
    assert seq_delta(2, 65534) == 4
    assert seq_delta(65534, 2) == -4


def feed(asm: Vp8FrameAssembler, packets: list[tuple[int, int, bool, bytes]], now: float = 0.0):
    frames, broken = [], False
    for seq, ts, marker, payload in packets:
        result = asm.add(seq, ts, marker, payload, now)
        frames += result.frames
        broken |= result.broken
    return frames, broken


def test_frame_released_at_marker_without_waiting_for_next_frame() -> None:
    asm = Vp8FrameAssembler()
    frames, broken = feed(asm, [(10, 1000, False, KEY_START), (11, 1000, True, MIDDLE)])
    assert not broken
    assert [f.payloads for f in frames] == [[KEY_START, MIDDLE]]
    assert frames[0].keyframe and frames[0].timestamp == 1000


def test_reordered_packets_wait_then_release_in_order() -> None:
    asm = Vp8FrameAssembler()
    frames, _ = feed(
        asm,
        [
            (100, 1, False, KEY_START),
            (102, 1, True, MIDDLE),  # 101 late
            (103, 2, True, DELTA_START),
        ],
    )
    assert frames == []
    frames, broken = feed(asm, [(101, 1, False, MIDDLE)])
    assert not broken
    assert [f.timestamp for f in frames] == [1, 2]
    assert frames[0].payloads == [KEY_START, MIDDLE, MIDDLE]


def test_gap_not_filled_in_time_is_skipped_and_reported_broken() -> None:
    asm = Vp8FrameAssembler(max_wait_s=0.2)
    feed(asm, [(1, 1, True, KEY_START)], now=0.0)
    # packet 2 (frame 2's start) never arrives; frame 3 is whole
    frames, broken = feed(asm, [(3, 2, True, MIDDLE), (4, 3, True, DELTA_START)], now=0.1)
    assert frames == [] and not broken
    frames, broken = feed(asm, [(5, 4, True, DELTA_START)], now=0.35)
    assert broken
    assert [f.timestamp for f in frames] == [3, 4]


def test_joins_stream_at_a_frame_start_and_ignores_late_duplicates() -> None:
    asm = Vp8FrameAssembler()
    frames, _ = feed(asm, [(7, 1, True, MIDDLE), (8, 2, True, KEY_START), (8, 2, True, KEY_START)])
    assert [f.timestamp for f in frames] == [2]


def test_sequence_wraparound() -> None:
    asm = Vp8FrameAssembler()
    frames, broken = feed(
        asm, [(65535, 5, False, KEY_START), (0, 5, True, MIDDLE), (1, 6, True, DELTA_START)]
    )
    assert not broken
    assert [len(f.payloads) for f in frames] == [2, 1]


def test_rebaser_keeps_timeline_continuous_across_source_switch() -> None:
    rebaser = TimestampRebaser(gap=3000)
    first = [rebaser.rebase(ts) for ts in (90_000, 93_000, 96_000)]
    assert first == [0, 3000, 6000]
    rebaser.switch()
    # a new source with an unrelated timestamp base, near the wrap
    second = [rebaser.rebase(ts) for ts in (TS_MOD - 3000, 0, 3000)]
    assert second == [9000, 12000, 15000]
