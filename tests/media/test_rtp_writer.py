"""The lean path's packets, byte for byte against aiortc's own serializer: headers, marker bits,
header extensions kept or stripped as negotiated, sequence and timestamp wraparound, RTX. Each
test holds both writers to it: the pure-Python RtpWriter and the compiled one."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from aiortc.rtp import RtpPacket, wrap_rtx

from server.media import compiled_send
from server.media.compiled_send import CompiledRtpWriter
from server.media.rtp_writer import (
    URI_ABS_SEND_TIME,
    URI_AUDIO_LEVEL,
    URI_MID,
    FrameWriting,
    RtpWriter,
    SendSetup,
    TransportSequence,
)
from server.media.transport_feedback import URI_TRANSPORT_CC
from tests.media.test_producer_consumer import extensions_map

pytestmark = pytest.mark.unit

VIDEO = SendSetup(5555, 96, "3", {URI_MID: 1, URI_ABS_SEND_TIME: 3}, rtx=(97, 6666))
AUDIO = SendSetup(7777, 111, "0", {URI_MID: 1, URI_AUDIO_LEVEL: 2})
MakeWriter = Callable[..., FrameWriting]


@pytest.fixture(params=["python", "compiled"])
def make_writer(request: pytest.FixtureRequest) -> MakeWriter:
    if request.param == "python":
        return RtpWriter
    assert compiled_send.COMPILED, "server/media/_rtp_send.c was not built (pip install -e .)"
    return CompiledRtpWriter


def aiortc_packet(
    setup: SendSetup,
    seq: int,
    timestamp: int,
    payload: bytes,
    marker: bool,
    send_time: int | None = None,
    level: tuple[bool, int] | None = None,
) -> bytes:
    """What aiortc's RTCRtpSender would send for the same fields."""
    packet = RtpPacket(setup.payload_type, marker=int(marker), sequence_number=seq)
    packet.timestamp = timestamp
    packet.ssrc = setup.ssrc
    packet.payload = payload
    packet.extensions.mid = setup.mid
    packet.extensions.abs_send_time = send_time
    packet.extensions.audio_level = level
    return packet.serialize(extensions_map(setup))


def test_video_packets_are_aiortcs_bytes_with_the_marker_on_the_last(
    make_writer: MakeWriter,
) -> None:
    writer = make_writer(VIDEO, first_seq=100, ts_origin=1_000)
    payloads = [b"\x90\x80\x00first", b"\x80\x80\x00middle", b"\x80\x80\x00last"]
    packets = writer.write(payloads, 3000, send_time=0xABCDEF)
    assert packets == [
        aiortc_packet(VIDEO, 100 + i, 4000, p, i == 2, send_time=0xABCDEF)
        for i, p in enumerate(payloads)
    ]
    assert writer.timestamp == 4000


def test_audio_carries_the_level_when_the_frame_has_one(make_writer: MakeWriter) -> None:
    writer = make_writer(AUDIO, first_seq=7, ts_origin=0)
    with_level, without = (
        writer.write([b"\xf8\xff"], 960, send_time=5, audio_level=(True, 42))[0],
        writer.write([b"\xf8\xfe"], 1920, send_time=5)[0],
    )
    assert with_level == aiortc_packet(AUDIO, 7, 960, b"\xf8\xff", True, level=(True, 42))
    assert without == aiortc_packet(AUDIO, 8, 1920, b"\xf8\xfe", True)
    parsed = RtpPacket.parse(with_level, extensions_map(AUDIO))
    assert (parsed.extensions.mid, parsed.extensions.audio_level) == ("0", (True, 42))


def test_extensions_not_negotiated_are_not_sent(make_writer: MakeWriter) -> None:
    bare = SendSetup(1, 96)
    packet = make_writer(bare, first_seq=0, ts_origin=0).write([b"vp8"], 0, send_time=9)[0]
    assert packet == aiortc_packet(bare, 0, 0, b"vp8", True) and len(packet) == 12 + 3
    only_mid = SendSetup(1, 111, "0", {URI_MID: 4})
    packet = make_writer(only_mid, first_seq=0, ts_origin=0).write(
        [b"opus"], 0, send_time=9, audio_level=(True, 1)
    )[0]
    assert packet == aiortc_packet(only_mid, 0, 0, b"opus", True)


def test_ids_or_values_beyond_the_one_byte_form_use_the_two_byte_form(
    make_writer: MakeWriter,
) -> None:
    for setup in (
        SendSetup(1, 96, "m" * 20, {URI_MID: 1, URI_ABS_SEND_TIME: 3}),
        SendSetup(1, 96, "1", {URI_MID: 15, URI_ABS_SEND_TIME: 3}),
    ):
        packet = make_writer(setup, first_seq=0, ts_origin=0).write([b"x"], 0, send_time=77)[0]
        assert packet == aiortc_packet(setup, 0, 0, b"x", True, send_time=77)
        assert packet[12:14] == b"\x10\x00"  # the two-byte profile


def test_sequence_numbers_and_timestamps_wrap(make_writer: MakeWriter) -> None:
    writer = make_writer(VIDEO, first_seq=65534, ts_origin=2**32 - 1000)
    first = writer.write([b"a", b"b", b"c"], 0, send_time=0)
    second = writer.write([b"d"], 3000, send_time=0)
    parsed = [RtpPacket.parse(p) for p in first + second]
    assert [p.sequence_number for p in parsed] == [65534, 65535, 0, 1]
    assert [p.timestamp for p in parsed] == [2**32 - 1000] * 3 + [2000]
    assert [p.marker for p in parsed] == [0, 0, 1, 1]


def test_a_nack_gets_rtx_as_aiortc_wraps_it(make_writer: MakeWriter) -> None:
    writer = make_writer(VIDEO, first_seq=65535, ts_origin=0)
    resends = writer._retransmissions  # type: ignore[attr-defined]
    resends._rtx_seq = 40
    sent = writer.write([b"\x90one", b"two"], 90_000, send_time=0x123456)
    for seq, packet in zip((65535, 0), sent, strict=True):
        expected = wrap_rtx(
            RtpPacket.parse(packet, extensions_map(VIDEO)),
            payload_type=97,
            sequence_number=resends._rtx_seq,
            ssrc=6666,
        ).serialize(extensions_map(VIDEO))
        assert writer.retransmission(seq) == expected
    assert resends._rtx_seq == 42


def test_retransmission_only_from_what_the_history_still_holds(make_writer: MakeWriter) -> None:
    writer = make_writer(SendSetup(1, 111), first_seq=0, ts_origin=0)  # no RTX: the same packet
    first = writer.write([b"0"], 0, send_time=0)[0]
    assert writer.retransmission(0) == first
    assert writer.retransmission(1) is None  # not sent yet
    for n in range(1, 129):
        writer.write([bytes([n])], n * 960, send_time=0)
    assert writer.retransmission(0) is None  # overwritten by sequence 128
    assert writer.retransmission(128) is not None


def test_every_packet_of_a_connection_gets_the_next_transport_wide_number(
    make_writer: MakeWriter,
) -> None:
    """The video and audio writers of one subscriber share its numbering; aiortc's parser reads
    each number where the transport-cc extension was negotiated; the numbering keeps each
    packet's size and send time for the feedback; a retransmission gets a number of its own."""
    compiled = make_writer is CompiledRtpWriter
    sequence = compiled_send.CompiledTransportSequence() if compiled else TransportSequence()
    video = SendSetup(
        5555, 96, "3", {URI_MID: 1, URI_ABS_SEND_TIME: 3, URI_TRANSPORT_CC: 5}, (97, 6)
    )
    audio = SendSetup(7777, 111, "0", {URI_MID: 1, URI_AUDIO_LEVEL: 2, URI_TRANSPORT_CC: 5})
    video_writer = make_writer(video, first_seq=10, ts_origin=0, transport=sequence)
    audio_writer = make_writer(audio, first_seq=20, ts_origin=0, transport=sequence)
    before = time.monotonic() * 1000.0
    packets = video_writer.write([b"v" * 900, b"w" * 300], 3000, send_time=1)
    packets += audio_writer.write([b"a" * 80], 960, send_time=1, audio_level=(True, 30))
    packets += audio_writer.write([b"b" * 80], 1920, send_time=1)
    after = time.monotonic() * 1000.0
    for number, (packet, setup) in enumerate(
        zip(packets, (video, video, audio, audio), strict=True)
    ):
        parsed = RtpPacket.parse(packet, extensions_map(setup))
        assert parsed.extensions.transport_sequence_number == number
        sent = sequence.sent(number)
        assert (
            sent is not None and sent[1] == len(packet) and before - 1 <= sent[0] <= after + 1
        )  # ms; C keeps whole us
    assert sequence.sent(4) is None  # not sent yet
    resent = video_writer.retransmission(11)
    assert resent is not None
    rtx = RtpPacket.parse(resent, extensions_map(video))
    assert rtx.ssrc == 6 and rtx.extensions.transport_sequence_number == 4
    resent_at = sequence.sent(4)
    assert resent_at is not None and resent_at[1] == len(resent)
    plain = make_writer(video, first_seq=0, ts_origin=0)  # no numbering given: the bytes stay 0
    assert (
        RtpPacket.parse(
            plain.write([b"x"], 0, 0)[0], extensions_map(video)
        ).extensions.transport_sequence_number
        == 0
    )


def test_padding_for_a_probe_goes_on_the_rtx_stream_numbered_on_the_transport(
    make_writer: MakeWriter,
) -> None:
    compiled = make_writer is CompiledRtpWriter
    sequence = compiled_send.CompiledTransportSequence() if compiled else TransportSequence()
    video = SendSetup(5555, 96, "3", {URI_MID: 1, URI_TRANSPORT_CC: 5}, (97, 6))
    writer = make_writer(video, first_seq=10, ts_origin=0, transport=sequence)
    writer.write([b"v" * 100], 3000, send_time=0)
    first = writer.padding(275)
    second = writer.padding(275)
    assert first is not None and second is not None and len(first) == 275
    parsed = RtpPacket.parse(first, extensions_map(video))
    assert (parsed.ssrc, parsed.payload_type, parsed.padding_size) == (6, 97, 255)
    assert parsed.payload == b"" and parsed.timestamp == writer.timestamp
    assert parsed.extensions.transport_sequence_number == 1  # after the frame's packet
    again = RtpPacket.parse(second, extensions_map(video))
    assert again.sequence_number == (parsed.sequence_number + 1) & 0xFFFF
    assert again.extensions.transport_sequence_number == 2
    kept = sequence.sent(2)
    assert kept is not None and kept[1] == 275
    # without RTX or without transport-wide numbers there is nothing to pad with
    assert make_writer(VIDEO, first_seq=0, ts_origin=0).padding(275) is None
    no_rtx = SendSetup(5555, 96, "3", {URI_TRANSPORT_CC: 5})
    assert make_writer(no_rtx, first_seq=0, ts_origin=0, transport=sequence).padding(275) is None
