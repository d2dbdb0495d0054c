"""The lean receive path's reader against packets made by aiortc's own serializer and read by
aiortc's own parser: the same fields, extensions in one- and two-byte form, CSRCs, padding,
RTX; and the same packets refused."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx, wrap_rtx

from server.media import rtp_reader
from server.media.rtp_reader import ExtensionIds, ReceivedPacket, read_rtp
from server.media.rtp_writer import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID
from server.media.transport_feedback import URI_TRANSPORT_CC

pytestmark = pytest.mark.unit


def assert_same_header(ours: ReceivedPacket, theirs: RtpPacket) -> None:
    assert (ours.ssrc, ours.sequence_number, ours.timestamp, ours.payload_type) == (
        theirs.ssrc,
        theirs.sequence_number,
        theirs.timestamp,
        theirs.payload_type,
    )


def negotiated(ids: dict[str, int]) -> tuple[HeaderExtensionsMap, ExtensionIds]:
    """aiortc's map and the reader's ids for the same negotiation."""
    made = HeaderExtensionsMap()
    made.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri) for uri, ext_id in ids.items()
            ]
        )
    )
    return made, ExtensionIds.of(ids)


def made(
    extensions_map: HeaderExtensionsMap,
    payload: bytes = b"\x10\x00payload",
    marker: int = 1,
    csrc: tuple[int, ...] = (),
    padding: int = 0,
    mid: str | None = "1",
    level: tuple[bool, int] | None = None,
    send_time: int | None = None,
    transport_sequence: int | None = None,
) -> bytes:
    packet = RtpPacket(
        payload_type=96,
        marker=marker,
        sequence_number=65535,
        timestamp=4_294_967_000,
        ssrc=0xDEADBEEF,
    )
    packet.payload = payload
    packet.csrc = list(csrc)
    packet.padding_size = padding
    packet.extensions.mid = mid
    packet.extensions.audio_level = level
    packet.extensions.abs_send_time = send_time
    packet.extensions.transport_sequence_number = transport_sequence
    return packet.serialize(extensions_map)


def assert_read_as_aiortc(
    data: bytes, extensions_map: HeaderExtensionsMap, ids: ExtensionIds
) -> ReceivedPacket:
    theirs = RtpPacket.parse(data, extensions_map)
    ours = read_rtp(data, ids)
    assert ours is not None
    assert_same_header(ours, theirs)
    assert ours.marker == bool(theirs.marker)
    assert (ours.payload, ours.padding_size) == (theirs.payload, theirs.padding_size)
    assert ours.audio_level == theirs.extensions.audio_level
    assert ours.abs_send_time == theirs.extensions.abs_send_time
    assert ours.transport_sequence == theirs.extensions.transport_sequence_number
    return ours


@pytest.mark.parametrize("marker", [0, 1])
@pytest.mark.parametrize("level", [None, (True, 0), (False, 127), (True, 42)])
def test_one_byte_extensions(marker: int, level: tuple[bool, int] | None) -> None:
    extensions_map, ids = negotiated(
        {URI_MID: 1, URI_ABS_SEND_TIME: 3, URI_AUDIO_LEVEL: 10, URI_TRANSPORT_CC: 5}
    )
    data = made(extensions_map, marker=marker, level=level, send_time=0xABCDEF,
                transport_sequence=0xFFFE)  # fmt: skip
    assert data[12:14] == b"\xbe\xde"
    ours = assert_read_as_aiortc(data, extensions_map, ids)
    assert (ours.audio_level, ours.abs_send_time, ours.marker) == (level, 0xABCDEF, bool(marker))
    assert ours.transport_sequence == 0xFFFE


def test_two_byte_extensions_with_ids_past_fourteen_and_a_long_mid() -> None:
    extensions_map, ids = negotiated(
        {URI_MID: 1, URI_ABS_SEND_TIME: 20, URI_AUDIO_LEVEL: 200, URI_TRANSPORT_CC: 17}
    )
    data = made(extensions_map, mid="m" * 20, level=(True, 7), send_time=123,
                transport_sequence=7)  # fmt: skip
    assert data[12:14] == b"\x10\x00"
    ours = assert_read_as_aiortc(data, extensions_map, ids)
    assert (ours.audio_level, ours.abs_send_time, ours.transport_sequence) == ((True, 7), 123, 7)


def test_csrcs_padding_and_no_extensions() -> None:
    extensions_map, ids = negotiated({})
    data = made(extensions_map, csrc=(1, 2, 3), padding=7, mid=None)
    ours = assert_read_as_aiortc(data, extensions_map, ids)
    assert (ours.payload, ours.padding_size) == (b"\x10\x00payload", 7)
    assert ours.audio_level is None and ours.abs_send_time is None


def test_extensions_not_negotiated_are_skipped() -> None:
    sent_map, _ = negotiated({URI_MID: 1, URI_ABS_SEND_TIME: 3, URI_AUDIO_LEVEL: 10})
    data = made(sent_map, csrc=(9,), padding=3, level=(True, 5), send_time=77)
    ours = read_rtp(data, ExtensionIds())
    assert ours is not None
    assert (ours.audio_level, ours.abs_send_time, ours.payload) == (None, None, b"\x10\x00payload")


def test_padding_between_elements_and_the_stop_id() -> None:
    header = bytes([0x90, 0xE0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3])
    # one-byte block of 2 words: padding byte, audio level (id 2) = 0x85, id 15 stops, junk
    block = b"\xbe\xde\x00\x02" + bytes([0, 0x20, 0x85, 0xF0, 0x31, 0xFF, 0xFF, 0xFF])
    ours = read_rtp(header + block + b"xy", ExtensionIds(audio_level=2, abs_send_time=3))
    assert ours is not None
    assert (ours.audio_level, ours.abs_send_time, ours.payload) == ((True, 5), None, b"xy")
    assert (ours.marker, ours.payload_type) == (True, 96)


def refused_by_aiortc(data: bytes) -> bool:
    try:
        RtpPacket.parse(data, negotiated({URI_AUDIO_LEVEL: 1})[0])
    except ValueError:
        return True
    return False


def test_what_aiortc_refuses_is_refused() -> None:
    extensions_map, ids = negotiated({URI_MID: 1, URI_AUDIO_LEVEL: 2})
    good = made(extensions_map, csrc=(5,), padding=4, level=(False, 9))
    broken = [
        good[:11],  # shorter than a header
        bytes([0x40]) + good[1:],  # version 1
        bytes([0x8F]) + good[1:16],  # 15 CSRCs announced, one there
        good[:12] + b"\xbe\xde\x00\x09" + good[16:20],  # extension block longer than the packet
        good[:-1] + b"\x00",  # padding count 0
        good[:-1] + b"\xff",  # more padding than packet
        good[:12] + b"\xbe\xde\x00\x01" + bytes([0x2F, 0, 0, 0]),  # element runs past the block
    ]
    for data in broken:
        assert refused_by_aiortc(data), data.hex()
        assert read_rtp(data, ids) is None, data.hex()


def test_rtx_is_unwrapped_as_aiortc_unwraps_it() -> None:
    extensions_map, ids = negotiated({URI_MID: 1, URI_ABS_SEND_TIME: 3})
    original = RtpPacket.parse(made(extensions_map, send_time=99), extensions_map)
    rtx_bytes = wrap_rtx(original, payload_type=97, sequence_number=7, ssrc=4242).serialize(
        extensions_map
    )
    rtx = read_rtp(rtx_bytes, ids)
    assert rtx is not None and (rtx.ssrc, rtx.payload_type, rtx.sequence_number) == (4242, 97, 7)
    theirs = unwrap_rtx(RtpPacket.parse(rtx_bytes, extensions_map), 96, original.ssrc)
    ours = rtp_reader.unwrap_rtx(rtx, 96, original.ssrc)
    assert ours is not None
    assert_same_header(ours, theirs)
    assert (ours.payload, ours.marker, ours.abs_send_time) == (theirs.payload, True, 99)
    rtx.payload = b"\x01"
    assert rtp_reader.unwrap_rtx(rtx, 96, original.ssrc) is None
