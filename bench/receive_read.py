"""Micro benchmark of the lean receive path's per-packet front: microseconds per incoming SRTP
packet to unprotect it and read it into a ReceivedPacket, pylibsrtp + read_rtp (the Python
path) against the compiled reader (server/media/_rtp_read.c), over the same protected packets.

    .venv/bin/python -m bench.receive_read [--packets 20000] [--repeats 3]

Packets as a publisher sends them: video of 1100-byte payloads with mid, abs-send-time and the
transport-wide sequence number, audio of 100 bytes with an audio level too. Each run
reads with a fresh inbound session (libsrtp refuses replays); the best run is reported.
Bounded: a few seconds, one core, no sockets.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import pylibsrtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.media import compiled_receive
from server.media.compiled_receive import SrtpRead, python_srtp_reader, srtp_reader
from server.media.rtp_reader import ExtensionIds
from server.media.rtp_writer import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID
from server.media.transport_feedback import URI_TRANSPORT_CC

KEY = bytes(range(30))
NEGOTIATED = {URI_MID: 1, URI_ABS_SEND_TIME: 2, URI_AUDIO_LEVEL: 3, URI_TRANSPORT_CC: 4}


def session(ssrc_type: int) -> pylibsrtp.Session:
    return pylibsrtp.Session(policy=pylibsrtp.Policy(key=KEY, ssrc_type=ssrc_type))


def protected_packets(count: int, payload_size: int, audio: bool) -> list[bytes]:
    extensions_map = HeaderExtensionsMap()
    extensions_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri)
                for uri, ext_id in NEGOTIATED.items()
            ]
        )
    )
    outbound = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    packets = []
    for seq in range(count):
        packet = RtpPacket(
            payload_type=111 if audio else 96,
            marker=int(audio or seq % 8 == 7),
            sequence_number=seq,
            timestamp=seq * 960,
            ssrc=1234 if audio else 5678,
        )
        packet.payload = os.urandom(payload_size)
        packet.extensions.mid = "0"
        packet.extensions.abs_send_time = seq * 64
        packet.extensions.transport_sequence_number = seq
        if audio:
            packet.extensions.audio_level = (seq % 3 == 0, 40)
        packets.append(outbound.protect(packet.serialize(extensions_map)))
    return packets


def microseconds_per_packet(
    make_reader: Callable[[pylibsrtp.Session, ExtensionIds], SrtpRead],
    packets: list[bytes],
    repeats: int,
) -> float:
    best = float("inf")
    for _ in range(repeats):
        inbound = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
        read = make_reader(inbound, ExtensionIds.of(NEGOTIATED))
        start = time.perf_counter()
        for data in packets:
            if read(data) is None:
                raise RuntimeError("a packet was refused")
        best = min(best, time.perf_counter() - start)
    return best / len(packets) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not compiled_receive.COMPILED:
        raise SystemExit("server/media/_rtp_read.c is not built (pip install -e .)")
    print("| packets | pylibsrtp + read_rtp (us) | compiled (us) | ratio |")
    print("|---|---|---|---|")
    for label, size, audio in (("video 1100 B", 1100, False), ("audio 100 B", 100, True)):
        packets = protected_packets(args.packets, size, audio)
        python = microseconds_per_packet(python_srtp_reader, packets, args.repeats)
        compiled = microseconds_per_packet(srtp_reader, packets, args.repeats)
        print(f"| {label} | {python:.2f} | {compiled:.2f} | {python / compiled:.1f}x |")


if __name__ == "__main__":
    main()
