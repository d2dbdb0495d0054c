"""Baseline for the forwarding benchmark: the same server and slots, but media goes through
aiortc's stock path (decode every incoming track, MediaRelay, one encoder per subscriber).

Run by bench/forwarding.py as `python -m bench.stock_relay --port N ...` (same flags as
`circle serve`)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from server.media.consumer import Consumer
from server.media.graph import ForwardingGraph
from server.media.peer_setup import codec_preferences
from server.media.producer import Producer
from server.media.router import MediaRouter


class RelaySlot(Consumer):
    """A slot whose sender encodes decoded frames relayed from the current producer."""

    def __init__(self, kind: str, slot: int, router: TranscodingRouter) -> None:
        super().__init__(kind, slot, router.stats, router.graph)
        self._router = router
        self._track: MediaStreamTrack | None = None
        self._changed = asyncio.Event()

    def play(self, track: MediaStreamTrack | None) -> None:
        self._track = track
        self._changed.set()

    async def recv(self) -> Any:
        while True:
            track = self._track
            if track is None or not self.active:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                frame = await track.recv()
            except MediaStreamError:
                self._track = None
                continue
            self._router.stats.frames_out += 1
            return frame

    def activate(self) -> None:
        super().activate()
        self._changed.set()


class RelayGraph(ForwardingGraph):
    """Also points a relay slot at the decoded track of the producer it is connected to."""

    def __init__(self, router: TranscodingRouter) -> None:
        super().__init__()
        self._router = router

    def connect(self, consumer: Consumer, producer: Producer | None) -> None:
        super().connect(consumer, producer)
        if isinstance(consumer, RelaySlot):
            consumer.play(self._router.relayed(producer) if producer is not None else None)


class TranscodingRouter(MediaRouter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.graph = RelayGraph(self)
        self._relay = MediaRelay()
        self._receivers: dict[Producer, RTCRtpReceiver] = {}

    def _receive_into(self, transceiver: RTCRtpTransceiver, producer: Producer) -> None:
        self._receivers[producer] = transceiver.receiver  # aiortc decodes as it normally does

    def relayed(self, producer: Producer) -> MediaStreamTrack:
        return self._relay.subscribe(self._receivers[producer].track, buffered=False)

    def _add_slot(self, pc: RTCPeerConnection, kind: str, index: int) -> Consumer:
        slot = RelaySlot(kind, index, self)
        transceiver = pc.addTransceiver(slot, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(kind))
        return slot


def main(argv: list[str]) -> int:
    import argparse

    from aiohttp import web

    from server.app import create_app
    from server.config import add_serve_arguments, settings_from_args

    parser = argparse.ArgumentParser(prog="stock_relay")
    add_serve_arguments(parser)
    settings = settings_from_args(parser.parse_args(argv))
    web.run_app(
        create_app(settings, router_class=TranscodingRouter),
        host=settings.host,
        port=settings.port,
        print=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
