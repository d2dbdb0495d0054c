"""The compiled front of the lean receive path, and where it gets what it needs.

`_rtp_read.SrtpReader` (C, built by `pip install` from server/media/_rtp_read.c) takes one
incoming SRTP packet per call: it unprotects it with the libsrtp that pylibsrtp carries (its
`srtp_unprotect` and the session's context, passed as addresses, as compiled_send.py protects)
and reads it as `rtp_reader.read_rtp` does, into a `ReceivedPacket`. Where the extension was not
built (no C compiler), `srtp_reader` gives the Python way instead: pylibsrtp's
`Session.unprotect`, then `read_rtp`.
"""

from __future__ import annotations

from collections.abc import Callable

import pylibsrtp
from pylibsrtp._binding import ffi, lib

from server.media.compiled_send import srtp_context
from server.media.rtp_reader import ExtensionIds, ReceivedPacket, read_rtp

try:
    from server.media._rtp_read import SrtpReader, set_packet_type
except ImportError:  # pragma: no cover - built on every machine with a C compiler
    COMPILED = False
else:
    COMPILED = True
    set_packet_type(ReceivedPacket)

__all__ = ["COMPILED", "UNPROTECT", "SrtpRead", "python_srtp_reader", "srtp_reader"]
UNPROTECT = int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_unprotect")))

SrtpRead = Callable[[bytes], ReceivedPacket | None]
"""An SRTP packet -> the RTP packet in it, or None when it is not authentic, is replayed or is
not valid RTP (dropped)."""


def srtp_reader(session: pylibsrtp.Session, ids: ExtensionIds) -> SrtpRead:
    """Unprotect with `session` and read the extensions of `ids`: in one C call when built."""
    if COMPILED:
        return SrtpReader(
            session,
            srtp_context(session),
            UNPROTECT,
            ids.audio_level,
            ids.abs_send_time,
            ids.rid,
            ids.repaired_rid,
            ids.transport_sequence,
        ).read
    return python_srtp_reader(session, ids)


def python_srtp_reader(session: pylibsrtp.Session, ids: ExtensionIds) -> SrtpRead:
    """The same in Python (the fallback, and the reference the tests and bench/ compare to)."""
    unprotect = session.unprotect

    def read(data: bytes) -> ReceivedPacket | None:
        try:
            decrypted = unprotect(data)
        except (pylibsrtp.Error, ValueError):
            return None  # not authentic, replayed, or longer than pylibsrtp takes: dropped
        return read_rtp(decrypted, ids)

    return read
