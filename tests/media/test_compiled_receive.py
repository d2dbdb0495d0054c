"""The compiled receive front (server/media/_rtp_read.c) held to the Python one it replaces:
over a real pylibsrtp session pair, packets made by aiortc's own serializer read as
`read_rtp` reads them; what read_rtp refuses, or libsrtp refuses (tampered, replayed, too long,
random bytes), is None."""

from __future__ import annotations

import dataclasses
import gc
import random

import pylibsrtp
import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.media import compiled_receive
from server.media._rtp_read import SrtpReader, set_packet_type
from server.media.compiled_receive import UNPROTECT, python_srtp_reader, srtp_reader
from server.media.compiled_send import srtp_context
from server.media.rtp_reader import ExtensionIds, ReceivedPacket, read_rtp
from server.media.rtp_writer import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID
from server.media.sdp import URI_REPAIRED_RID, URI_RID
from server.media.transport_feedback import URI_TRANSPORT_CC
from tests.media.test_compiled_send import sessions

pytestmark = pytest.mark.unit

ONE_BYTE_IDS = {
    URI_MID: 1,
    URI_AUDIO_LEVEL: 2,
    URI_ABS_SEND_TIME: 3,
    URI_RID: 4,
    URI_TRANSPORT_CC: 5,
}
TWO_BYTE_IDS = {
    URI_AUDIO_LEVEL: 20,
    URI_ABS_SEND_TIME: 200,
    URI_RID: 15,
    URI_REPAIRED_RID: 255,
    URI_TRANSPORT_CC: 100,
}


def extensions_map(ids: dict[str, int]) -> HeaderExtensionsMap:
    made = HeaderExtensionsMap()
    made.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri) for uri, ext_id in ids.items()
            ]
        )
    )
    return made


def serialized(rng: random.Random, seq: int, ids: dict[str, int]) -> bytes:
    """An RTP packet of random fields and extensions, as aiortc serializes one."""
    packet = RtpPacket(
        payload_type=rng.randrange(128),
        marker=rng.randrange(2),
        sequence_number=seq,
        timestamp=rng.randrange(2**32),
        ssrc=0xC0FFEE,
    )
    packet.payload = rng.randbytes(rng.randrange(0, 900))  # protected, always under 1500
    packet.csrc = [rng.randrange(2**32) for _ in range(rng.choice([0, 0, 1, 15]))]
    packet.padding_size = rng.choice([0, 0, 1, 4, 255])
    extensions = packet.extensions
    if rng.random() < 0.8:
        extensions.audio_level = (rng.random() < 0.5, rng.randrange(128))
    if rng.random() < 0.8:
        extensions.abs_send_time = rng.randrange(2**24)
    if rng.random() < 0.5:
        extensions.mid = rng.choice(["0", "12", "\xe9t\xe9"])  # UTF-8, not ASCII
    if rng.random() < 0.5:
        extensions.rtp_stream_id = rng.choice(["h", "q", "layer-with-a-long-name", ""])
    if rng.random() < 0.3:
        extensions.repaired_rtp_stream_id = rng.choice(["f", "h"])
    if rng.random() < 0.8:
        extensions.transport_sequence_number = rng.randrange(2**16)
    return packet.serialize(extensions_map(ids))


def assert_same(read: ReceivedPacket | None, plain: bytes, ids: ExtensionIds) -> None:
    expected = read_rtp(plain, ids)
    assert read == expected, plain.hex()
    if read is not None:
        assert type(read) is ReceivedPacket
        for field in dataclasses.fields(ReceivedPacket):
            assert type(getattr(read, field.name)) is type(getattr(expected, field.name))


def test_the_extension_is_built() -> None:
    # CI installs with `pip install -e .`, which builds it: a missing build is a failure here
    assert compiled_receive.COMPILED
    _, inbound = sessions()
    assert isinstance(srtp_reader(inbound, ExtensionIds()).__self__, SrtpReader)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sent", "negotiated"),
    [
        (ONE_BYTE_IDS, ONE_BYTE_IDS),
        (TWO_BYTE_IDS, TWO_BYTE_IDS),
        (ONE_BYTE_IDS, {URI_AUDIO_LEVEL: 3, URI_ABS_SEND_TIME: 4}),  # read from other elements
        (ONE_BYTE_IDS, {URI_RID: 1}),  # the mid read as the rid: not ASCII, decoded with U+FFFD
        (ONE_BYTE_IDS, {}),  # nothing negotiated: every element skipped
    ],
    ids=["one-byte", "two-byte", "other-ids", "mid-as-rid", "none"],
)
def test_aiortcs_packets_read_as_read_rtp_reads_them(
    sent: dict[str, int], negotiated: dict[str, int]
) -> None:
    rng = random.Random(7)
    outbound, inbound = sessions()
    _, python_inbound = sessions()
    ids = ExtensionIds.of(negotiated)
    read = srtp_reader(inbound, ids)
    python_read = python_srtp_reader(python_inbound, ids)
    seen: set[str] = set()
    for seq in range(400):
        plain = serialized(rng, seq, sent)
        protected = outbound.protect(plain)
        packet = read(protected)
        assert packet is not None
        assert_same(packet, plain, ids)
        assert python_read(protected) == packet
        seen.update(name for name, value in dataclasses.asdict(packet).items() if value)
        seen.add({0xBEDE: "one-byte", 0x1000: "two-byte"}.get(read_profile(plain), "no block"))
    read_ids = {name for name, value in dataclasses.asdict(ids).items() if value}
    assert read_ids <= seen and {"marker", "padding_size"} <= seen
    # an empty or long rid takes the two-byte form even with one-byte ids
    assert {"two-byte", "no block"} <= seen and ("one-byte" in seen) == (sent is ONE_BYTE_IDS)


def read_profile(plain: bytes) -> int:
    """The packet's extension profile, 0 without a block."""
    at = 12 + 4 * (plain[0] & 0x0F)
    return int.from_bytes(plain[at : at + 2], "big") if plain[0] & 0x10 else 0


def test_random_headers_read_as_read_rtp_reads_them() -> None:
    # version, flags, CSRC count, extension profile and length, padding all random, ids too
    # (some equal): every packet libsrtp protects reads in C as in Python, refusals included
    rng = random.Random(11)
    outbound, inbound = sessions()
    checked = refused = 0
    for seq in range(3000):
        ids = ExtensionIds(*(rng.randrange(16) for _ in range(5)))
        read = srtp_reader(inbound, ids)
        first = rng.randrange(256) if rng.random() < 0.1 else 0x80 | rng.randrange(64)
        header = bytes([first, rng.randrange(256)]) + seq.to_bytes(2, "big") + bytes(4)
        body = bytearray(rng.randbytes(rng.randrange(0, 120)))
        if len(body) >= 4 * (first & 0x0F) + 4 and first & 0x10:
            at = 4 * (first & 0x0F)
            profile = rng.choice([0xBEDE, 0x1000, 0x1003, rng.randrange(2**16)])
            body[at : at + 4] = profile.to_bytes(2, "big") + bytes([0, rng.randrange(8)])
        plain = header + b"\x00\x00\x00\x2a" + bytes(body)
        try:
            protected = outbound.protect(plain)
        except pylibsrtp.Error:
            continue  # libsrtp refuses the header itself: nothing to compare
        packet = read(protected)
        assert_same(packet, plain, ids)
        checked += 1
        refused += packet is None
    assert checked > 1500 and 100 < refused < checked - 100


def test_what_read_rtp_refuses_is_none() -> None:
    outbound, inbound = sessions()
    ids = ExtensionIds(audio_level=2)
    read = srtp_reader(inbound, ids)

    def packet(first: int, seq: int, rest: bytes) -> bytes:
        return bytes([first, 96]) + seq.to_bytes(2, "big") + bytes(4) + b"\x00\x00\x00\x2a" + rest

    broken = [
        packet(0x40, 1, b"payload"),  # version 1
        # an element running past its block
        packet(0x90, 2, b"\xbe\xde\x00\x01" + bytes([0x2F, 0, 0, 0]) + b"payload"),
        packet(0xA0, 3, b"payload\x00"),  # padding count 0
        packet(0xA0, 4, b"payload\xff"),  # more padding than packet
    ]
    for plain in broken:
        assert read_rtp(plain, ids) is None
        assert read(outbound.protect(plain)) is None, plain.hex()
    good = packet(0x90, 5, b"\xbe\xde\x00\x01" + bytes([0x20, 0x85, 0, 0]) + b"payload")
    packet_read = read(outbound.protect(good))  # the session still reads
    assert packet_read is not None and packet_read.audio_level == (True, 5)
    assert packet_read == read_rtp(good, ids)


def test_tampered_replayed_too_long_and_random_packets_are_none() -> None:
    outbound, inbound = sessions()
    ids = ExtensionIds.of(ONE_BYTE_IDS)
    read = srtp_reader(inbound, ids)
    rng = random.Random(5)
    first, second = (outbound.protect(serialized(rng, seq, ONE_BYTE_IDS)) for seq in (1, 2))
    tampered = bytearray(first)
    tampered[-12] ^= 1  # in the encrypted payload (the 10-byte tag follows)
    assert read(bytes(tampered)) is None
    assert read(first) is not None
    assert read(first) is None  # replayed
    assert read(second[:-1]) is None  # tag cut short
    assert read(second) is not None
    # pylibsrtp refuses packets over its 1500-byte buffer with a ValueError: dropped, both ways
    with pytest.raises(ValueError):
        inbound.unprotect(bytes(1501))
    assert read(bytes([0x80]) + bytes(1500)) is None
    assert python_srtp_reader(inbound, ids)(bytes([0x80]) + bytes(1500)) is None
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 1600))
        if data and rng.random() < 0.5:
            data = bytes([0x80 | (data[0] & 0x3F)]) + data[1:]
        assert read(data) is None
    with pytest.raises(TypeError):
        read(bytearray(first))  # type: ignore[arg-type]
    assert read(outbound.protect(serialized(rng, 3, ONE_BYTE_IDS))) is not None  # still reads


def test_the_reader_keeps_its_session_alive() -> None:
    outbound, inbound = sessions()
    read = srtp_reader(inbound, ExtensionIds())
    del inbound
    gc.collect()
    plain = serialized(random.Random(9), 1, {})
    assert read(outbound.protect(plain)) == read_rtp(plain, ExtensionIds())


def test_a_reader_without_a_context_or_a_packet_class_of_other_fields_is_refused() -> None:
    _, inbound = sessions()
    with pytest.raises(ValueError):
        SrtpReader(inbound, 0, UNPROTECT, 0, 0, 0, 0, 0)
    with pytest.raises(TypeError):
        SrtpReader(inbound, srtp_context(inbound), UNPROTECT, "1", 0, 0, 0, 0)  # type: ignore[arg-type]

    @dataclasses.dataclass(slots=True)
    class Other:
        ssrc: int

    with pytest.raises(TypeError):
        set_packet_type(Other)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        set_packet_type(object())  # type: ignore[arg-type]
    # the packet class registered at import is still the one read() makes
    outbound, _ = sessions()
    plain = serialized(random.Random(4), 1, {})
    packet = srtp_reader(inbound, ExtensionIds())(outbound.protect(plain))
    assert type(packet) is ReceivedPacket
