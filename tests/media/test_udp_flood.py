"""Issue 26, finding 5: unauthenticated UDP cannot grow the server's memory. Raw datagrams from
a stranger's socket on loopback, to the ports of a subscribe offer nobody answers and of a
running publish connection: the queue aioice holds for an unanswered offer stays bounded, a
spoofed SSRC is learnt nowhere (neither the lean path's demux table nor aiortc's ssrc_table)
unless its packet is authentic, and an offer nobody answers is closed."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

import pytest
from aioice.ice import Connection
from aiortc import RTCPeerConnection

from server.config import MediaConfig
from server.media import aiortc_hooks
from server.media.aiortc_receive import _DirectPath
from server.media.datagram_queue import DatagramQueue
from server.media.forwarding import ForwardedFrame
from server.media.router import MediaRouter
from server.media.rtp_writer import ntp_now
from server.media.stats import ForwardingStats
from tests.conftest import LOOPBACK_ONLY, until
from tests.media.test_aiortc_receive import audio_received_directly

FLOOD = 1000  # datagrams
BIG = 60_000  # bytes each: 60 MB in all


def router_of(config: MediaConfig, failed: list[str]) -> MediaRouter:
    return MediaRouter(config, ForwardingStats(), lambda p, s: None, lambda a: None, failed.append)


def connections_of(pc: RTCPeerConnection) -> set[Connection]:
    return {
        aiortc_hooks.ice_connection(t.receiver.transport.transport) for t in pc.getTransceivers()
    }


def sockets_of(connections: set[Connection]) -> set[tuple[str, int]]:
    protocols = [p for c in connections for p in c._protocols]
    return {p.transport.get_extra_info("sockname") for p in protocols}


def queued_bytes(pc: RTCPeerConnection) -> int:
    """What aioice holds for the DTLS transport, counted item by item."""
    return sum(len(item[0]) for c in connections_of(pc) for item in c._queue._queue if item)


async def flood(
    addresses: set[tuple[str, int]], datagram: Callable[[int], bytes], count: int
) -> None:
    """`count` datagrams to each address from one stranger's socket, in batches the event loop
    reads as they come (a full kernel buffer would drop them before the server saw them)."""
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(count):
            for address in addresses:
                stranger.sendto(datagram(i), address)
            if i % 20 == 19:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)
    finally:
        stranger.close()


async def test_an_unanswered_subscribe_holds_a_bounded_queue(loopback_ice: None) -> None:
    router = router_of(LOOPBACK_ONLY, [])
    router.add("p_1", "main")
    await router.subscribe("p_1")
    pc = router.participants["p_1"].subscribe_pc
    assert pc is not None
    try:
        addresses = sockets_of(connections_of(pc))
        assert addresses
        await flood(addresses, lambda i: bytes([0x80, 0x60]) + os.urandom(10) + bytes(BIG), FLOOD)
        held = queued_bytes(pc)
        assert held <= LOOPBACK_ONLY.queued_datagram_bytes_max * len(addresses), held
    finally:
        await router.close()


async def test_an_unanswered_subscribe_is_closed_and_the_page_told(loopback_ice: None) -> None:
    failed: list[str] = []
    config = MediaConfig(
        slots_per_kind=2, remote_networks=("127.0.0.0/8",), subscribe_answer_timeout_s=1.0
    )
    router = router_of(config, failed)
    router.add("p_1", "main")
    try:
        await router.subscribe("p_1")
        pc = router.participants["p_1"].subscribe_pc
        assert pc is not None
        await until(lambda: failed == ["p_1"], 10, "the page is told to start its media again")
        assert router.participants["p_1"].subscribe_pc is None
        assert router.participants["p_1"].slots == {}
        assert pc.connectionState == "closed"
        await router.subscribe("p_1")  # a new offer may follow
        assert router.participants["p_1"].subscribe_pc is not None
    finally:
        await router.close()


async def test_a_spoofed_ssrc_is_learnt_nowhere(loopback_ice: None) -> None:
    async with audio_received_directly() as (consumer, receiver, received):
        dtls = receiver.transport
        table = dtls._rtp_router.ssrc_table
        demux = _DirectPath.of(dtls)._by_ssrc
        before = (len(table), len(demux))
        payload_type = received[0].payload_type

        def spoofed(i: int) -> bytes:  # the negotiated payload type, a new SSRC each, no auth
            header = bytes([0x80, payload_type, 0, 1, 0, 0, 0, 0]) + (1000 + i).to_bytes(4, "big")
            return header + os.urandom(40)

        await flood(sockets_of({aiortc_hooks.ice_connection(dtls.transport)}), spoofed, FLOOD)
        consumer.deliver(ForwardedFrame([b"\xf8\x01"], 960, True, time.monotonic()), ntp_now())
        await until(lambda: len(received) == 2, 10, "the authentic packet after them")
        assert (len(table), len(demux)) == before


@pytest.mark.unit
async def test_the_queue_drops_what_does_not_fit_and_frees_what_is_read() -> None:
    queue = DatagramQueue(datagrams_max=3, bytes_max=100)
    for size in (40, 40, 40, 10, 10):  # the third is over the bytes, the fifth over the count
        queue.put_nowait((bytes(size), 1))
    assert (queue.qsize(), queue.held_bytes, queue.dropped) == (3, 90, 2)
    assert await queue.get() == (bytes(40), 1)
    assert queue.held_bytes == 50
    queue.put_nowait((bytes(50), 1))
    queue.put_nowait(None)  # the connection closed: always queued, so a reader learns it
    assert [await queue.get() for _ in range(4)][-1] is None
    assert queue.held_bytes == 0
