"""Sender reports of several lean senders on one connection, sent by one task: each sender's
report reaches the receiver with its own counts, and round-trip times come back for each."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from server.media import aiortc_hooks, aiortc_receive, aiortc_send, sender_reports
from server.media.consumer import Consumer
from server.media.forwarding import ForwardedFrame
from server.media.graph import ForwardingGraph
from server.media.rtp_writer import ntp_now
from server.media.stats import ForwardingStats
from tests.conftest import negotiate, peer_pair, until


def test_report_together_refuses_a_sender_without_the_internals() -> None:
    class Bare:
        pass

    consumer = Consumer("audio", 0, ForwardingStats(), ForwardingGraph())
    with pytest.raises(aiortc_hooks.HookError):
        sender_reports.report_together(Bare(), consumer)  # type: ignore[arg-type]


async def test_one_task_reports_for_every_sender_of_a_connection(loopback_ice: None) -> None:
    sender_pc, receiver_pc = peer_pair()
    graph, stats = ForwardingGraph(), ForwardingStats()
    consumers = [Consumer("audio", slot, stats, graph) for slot in range(3)]
    senders = []
    for consumer in consumers:
        transceiver = sender_pc.addTransceiver(consumer, direction="sendonly")
        aiortc_send.send_directly(transceiver.sender, consumer)
        senders.append(transceiver.sender)
    receivers = []
    for _ in consumers:
        receiver = receiver_pc.addTransceiver("audio", direction="recvonly").receiver
        aiortc_receive.receive_directly(receiver, lambda packet: None)
        receivers.append(receiver)
    await negotiate(sender_pc, receiver_pc)
    try:
        await until(lambda: all(c._link is not None for c in consumers), 10, "senders started")
        for count, consumer in enumerate(consumers, start=1):
            consumer.activate()
            for i in range(count):  # 1, 2 and 3 packets
                frame = ForwardedFrame([b"\xf8\xff"], i * 960, True, time.monotonic())
                consumer.deliver(frame, ntp_now())
        reports = sender_reports.SenderReports.of(senders[0].transport)
        assert all(sender_reports.SenderReports.of(s.transport) is reports for s in senders)

        async def reported(index: int) -> tuple[Any, Any]:
            remote = await receivers[index].getStats()
            local = await senders[index].getStats()
            sent = [s for s in remote.values() if s.type == "remote-outbound-rtp"]
            rtt = [s for s in local.values() if s.type == "remote-inbound-rtp"]
            return (sent[0] if sent else None), (rtt[0] if rtt else None)

        async with asyncio.timeout(15):
            for index in range(3):
                while None in (got := await reported(index)) or got[1].roundTripTime is None:
                    await asyncio.sleep(0.1)
                assert got[0].packetsSent == index + 1
                assert 0 <= got[1].roundTripTime < 1
    finally:
        await sender_pc.close()
        await receiver_pc.close()
