"""The compiled writer of the lean send path, and where it gets what it needs.

`_rtp_send.FrameWriter` (C, built by `pip install` from server/media/_rtp_send.c) writes a
frame's packets as `rtp_writer.RtpWriter` does, then protects them with the libsrtp that
pylibsrtp carries (its `srtp_protect` and the session's context, passed as addresses) and
sends them with one `sendmmsg` (to the socket and address its link gives it, `set_target`);
`fan_out` does that for every steady subscriber of a producer in one call (graph.py). Where
the extension was not built (no C compiler), or `--no-compiled-send` turned it off,
`new_writer` gives the pure-Python writer and everything goes the Python way. Private
attributes of pylibsrtp are checked like aiortc's hooks are, and tests/media/test_compiled_send.py
runs them against the pinned version.
"""

from __future__ import annotations

from collections.abc import Sequence

import pylibsrtp
from pylibsrtp._binding import ffi, lib

from server.media.aiortc_hooks import require
from server.media.rtp_writer import (
    Extensions,
    FrameWriting,
    PacketNumbering,
    Retransmissions,
    RtpWriter,
    SendSetup,
    TransportSequence,
    stream_starts,
)
from server.media.transport_feedback import URI_TRANSPORT_CC


class _NotBuilt:
    """Stands in for the extension where it was not built: no writer of it is ever made."""

    def __init__(self, *args: object) -> None:
        raise RuntimeError("server.media._rtp_send was not built")


def _fan_out_not_built(
    writers: Sequence[FrameWriter],
    payloads: list[bytes],
    timestamp: int,
    send_time: int,
    audio_level: tuple[bool, int] | None,
    ntp: int,
) -> list[int]:
    raise RuntimeError("server.media._rtp_send was not built")


try:
    from server.media._rtp_send import FrameWriter, fan_out
    from server.media._rtp_send import TransportSequence as CompiledTransportSequence
except ImportError:  # pragma: no cover - built on every machine with a C compiler
    COMPILED = False
    FrameWriter = _NotBuilt  # type: ignore[misc, assignment]
    CompiledTransportSequence = _NotBuilt  # type: ignore[misc, assignment]
    fan_out = _fan_out_not_built
else:
    COMPILED = True

__all__ = [
    "COMPILED",
    "PROTECT",
    "CompiledRtpWriter",
    "CompiledTransportSequence",
    "fan_out",
    "new_transport_sequence",
    "new_writer",
    "srtp_context",
]
_SESSION_CONTEXT = "_srtp"  # pylibsrtp.Session's `srtp_t *`
PROTECT = int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect")))
_enabled = True


def use_compiled(enabled: bool) -> None:
    """Whether new writers are the compiled ones (when built): `--no-compiled-send` says no."""
    global _enabled
    _enabled = enabled


def srtp_context(session: pylibsrtp.Session) -> int:
    """The address of the libsrtp context behind a pylibsrtp session."""
    require(session, _SESSION_CONTEXT)
    return int(ffi.cast("uintptr_t", getattr(session, _SESSION_CONTEXT)[0]))


def _offsets(extensions: Extensions) -> tuple[int, int, int]:
    """The offsets the C writer takes: -1 for a value not negotiated."""
    at_time, at_level = extensions.abs_send_time_at, extensions.audio_level_at
    at_seq = extensions.transport_seq_at
    return (
        -1 if at_time is None else at_time,
        -1 if at_level is None else at_level,
        -1 if at_seq is None else at_seq,
    )


class CompiledRtpWriter(FrameWriter):
    """The C writer with the NACK side in Python (`Retransmissions`, as RtpWriter's)."""

    def __init__(
        self,
        setup: SendSetup,
        first_seq: int | None = None,
        ts_origin: int | None = None,
        transport: CompiledTransportSequence | None = None,
    ) -> None:
        seq, origin = stream_starts(first_seq, ts_origin)
        with_level = Extensions(setup, with_level=True)
        without_level = Extensions(setup, with_level=False)
        super().__init__(
            setup.ssrc,
            setup.payload_type,
            seq,
            origin,
            bytes(with_level.block),
            _offsets(with_level),
            bytes(without_level.block),
            _offsets(without_level),
            transport,
        )
        self._retransmissions = Retransmissions(
            setup.rtx,
            transport,
            with_level.transport_seq_at,
            setup.extensions.get(URI_TRANSPORT_CC),
        )

    def retransmission(self, seq: int) -> bytes | None:
        return self._retransmissions.resend(self.packet(seq), seq)

    def padding(self, size: int) -> bytes | None:
        return self._retransmissions.padding(size, self.timestamp)


def new_transport_sequence() -> TransportSequence | CompiledTransportSequence:
    """A subscriber connection's transport-wide sequence numbers, for the writers `new_writer`
    makes (the compiled ones take only the compiled kind)."""
    return CompiledTransportSequence() if COMPILED and _enabled else TransportSequence()


def new_writer(
    setup: SendSetup,
    first_seq: int | None = None,
    ts_origin: int | None = None,
    transport: PacketNumbering | None = None,
) -> FrameWriting:
    """The compiled writer when built and enabled, else the pure-Python one; `transport` (from
    `new_transport_sequence`, made under the same choice) numbers every packet when
    transport-cc was negotiated."""
    if COMPILED and _enabled:
        if transport is not None and not isinstance(transport, CompiledTransportSequence):
            raise TypeError("a compiled writer numbers packets with the compiled sequence")
        return CompiledRtpWriter(setup, first_seq, ts_origin, transport)
    if transport is not None and not isinstance(transport, TransportSequence):
        raise TypeError("the Python writer numbers packets with rtp_writer.TransportSequence")
    return RtpWriter(setup, first_seq, ts_origin, transport)
