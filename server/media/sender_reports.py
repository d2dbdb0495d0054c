"""The sender reports of a connection's lean senders, sent by one task for all of them.

aiortc runs an RTCP task per sender: every 0.5-1.5 s a wake-up, a report built, protected and
sent, for each of a subscriber's up to 30 slots. Here one task per DTLS transport sends the
reports of all its lean senders at that pace, a few compound packets each time (each sender's
SR and SDES CNAME, as aiortc sends them), and leaves on each sender what aiortc's round-trip
estimate reads when the receiver report comes back. Each sender's own RTCP task only waits to
be stopped, then says goodbye (RTCP BYE) as aiortc's does.

Private attributes, like those of aiortc_send.py: checked when the hook is set (`HookError`),
exercised by the lean path's test over a real connection (tests/media/test_aiortc_hooks.py).
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.rtp import (
    AnyRtcpPacket,
    RtcpByePacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

from server.media.aiortc_hooks import require

_SENDER_RUN_RTCP = "_run_rtcp"
_SENDER_SEND_RTCP = "_send_rtcp"
_SENDER_RTCP_STARTED = "_RTCRtpSender__rtcp_started"
_SENDER_RTCP_EXITED = "_RTCRtpSender__rtcp_exited"
_SENDER_CNAME = "_RTCRtpSender__cname"
_SENDER_SSRC = "_ssrc"
# what aiortc's round-trip estimate compares a receiver report's LSR and DLSR with
_SENDER_LSR = "_RTCRtpSender__lsr"
_SENDER_LSR_TIME = "_RTCRtpSender__lsr_time"
_HOOKED = (
    _SENDER_RUN_RTCP, _SENDER_SEND_RTCP, _SENDER_RTCP_STARTED, _SENDER_RTCP_EXITED,
    _SENDER_CNAME, _SENDER_SSRC, _SENDER_LSR, _SENDER_LSR_TIME,
)  # fmt: skip
_DTLS_SEND_RTP = "_send_rtp"
SENDERS_PER_PACKET = 16  # an SR and a CNAME are about 60 bytes: a compound packet under 1 KB
_U32 = 0xFFFFFFFF


class SentCounts(Protocol):
    """What a lean sender has sent: its RTCP sender reports and getStats read it from here."""

    @property
    def packets_sent(self) -> int: ...

    @property
    def octets_sent(self) -> int:
        """Payload octets."""

    @property
    def last_ntp(self) -> int:
        """The wall clock (64-bit NTP) when the last frame was sent."""

    @property
    def last_rtp_timestamp(self) -> int:
        """The RTP timestamp of the last frame sent."""


class SenderReports:
    """One DTLS transport's lean senders and the task that reports for them."""

    _of: weakref.WeakKeyDictionary[RTCDtlsTransport, SenderReports] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> SenderReports:
        reports = cls._of.get(dtls)
        if reports is None:
            reports = cls._of[dtls] = cls(getattr(dtls, _DTLS_SEND_RTP))
        return reports

    def __init__(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        self._send = send
        self._senders: dict[RTCRtpSender, SentCounts] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, sender: RTCRtpSender, counts: SentCounts) -> None:
        self._senders[sender] = counts
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def remove(self, sender: RTCRtpSender) -> None:
        self._senders.pop(sender, None)
        if not self._senders and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            # RFC 3550's interval, varied over [0.5, 1.5] times it, as aiortc does per sender
            await asyncio.sleep(0.5 + random.random())
            await self.report()

    async def report(self) -> None:
        """Send every sender's report now."""
        now = time.time()
        packets: list[AnyRtcpPacket] = []
        for sender, counts in list(self._senders.items()):
            ssrc: int = getattr(sender, _SENDER_SSRC)
            ntp = counts.last_ntp
            info = RtcpSenderInfo(
                ntp_timestamp=ntp,
                rtp_timestamp=counts.last_rtp_timestamp,
                packet_count=counts.packets_sent & _U32,
                octet_count=counts.octets_sent & _U32,
            )
            packets.append(RtcpSrPacket(ssrc=ssrc, sender_info=info))
            setattr(sender, _SENDER_LSR, (ntp >> 16) & _U32)
            setattr(sender, _SENDER_LSR_TIME, now)
            cname: str | None = getattr(sender, _SENDER_CNAME)
            if cname is not None:
                chunk = RtcpSourceInfo(ssrc=ssrc, items=[(1, cname.encode("utf8"))])
                packets.append(RtcpSdesPacket(chunks=[chunk]))
        per_packet = 2 * SENDERS_PER_PACKET  # each compound packet starts with an SR
        for start in range(0, len(packets), per_packet):
            try:
                await self._send(b"".join(bytes(p) for p in packets[start : start + per_packet]))
            except ConnectionError:
                return


def report_together(sender: RTCRtpSender, counts: SentCounts) -> None:
    """Before the sender starts: its RTCP task only waits to be stopped, and its DTLS
    transport's `SenderReports` (the transport it has once started: bundling may change it)
    sends its reports from `counts`."""
    for name in _HOOKED:
        require(sender, name)
    require(RTCDtlsTransport, _DTLS_SEND_RTP)

    async def run_rtcp() -> None:
        getattr(sender, _SENDER_RTCP_STARTED).set()
        reports = SenderReports.of(sender.transport)
        reports.add(sender, counts)
        try:
            await asyncio.get_running_loop().create_future()  # until the sender stops
        except asyncio.CancelledError:
            pass
        reports.remove(sender)
        send_rtcp = getattr(sender, _SENDER_SEND_RTCP)
        await send_rtcp([RtcpByePacket(sources=[getattr(sender, _SENDER_SSRC)])])
        getattr(sender, _SENDER_RTCP_EXITED).set()

    setattr(sender, _SENDER_RUN_RTCP, run_rtcp)
