"""The queue of datagrams aioice holds for a connection until aiortc's DTLS transport reads
them, bounded: until an offer is answered (or while a handshake runs) nothing reads it, and
anyone who knows the port may send to it. What does not fit is dropped, as a full socket
buffer drops it; the sender of real media retransmits (DTLS) or sends the next packet."""

from __future__ import annotations

import asyncio

Item = tuple[bytes, int] | None  # (datagram, ICE component); None: the connection closed


class DatagramQueue(asyncio.Queue[Item]):
    def __init__(self, datagrams_max: int, bytes_max: int) -> None:
        super().__init__()
        self.datagrams_max = datagrams_max
        self.bytes_max = bytes_max
        self.held_bytes = 0
        self.dropped = 0

    def put_nowait(self, item: Item) -> None:
        if item is not None and (
            self.qsize() >= self.datagrams_max or self.held_bytes + len(item[0]) > self.bytes_max
        ):
            self.dropped += 1
            return
        super().put_nowait(item)  # the close marker (None) always goes in

    def _put(self, item: Item) -> None:
        if item is not None:
            self.held_bytes += len(item[0])
        super()._put(item)

    def _get(self) -> Item:
        item: Item = super()._get()
        if item is not None:
            self.held_bytes -= len(item[0])
        return item
