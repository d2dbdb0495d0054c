"""The socket.io server Circle runs: python-socketio's AsyncServer with the msgpack parser,
refusing what a hostile client could otherwise slip past the namespace's handlers.

- python-socketio dispatches a client-sent EVENT named `connect` or `disconnect` down the same
  path as the real connection lifecycle (`_trigger_event('connect', ...)`): a client could
  replace its connection record and leave a ghost participant behind. `_handle_event` refuses
  reserved and malformed event names before dispatch, and maps with non-string keys.
- A packet msgpack cannot decode (or that is not a socket.io packet) closes that one
  connection with a log line, instead of a traceback.

`_handle_event` and `_handle_eio_message` are the library's private methods: their pinned
signatures are checked by tests/security/test_reserved_events.py."""

from __future__ import annotations

import logging
from typing import Any

import msgpack
import socketio
from socketio import packet
from socketio.msgpack_packet import MsgPackPacket

log = logging.getLogger(__name__)

RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting"})
EVENT_NAME_MAX = 40
MAX_NESTING = 32
# python-engineio's own reasons: the only ones its server passes to on_disconnect
DISCONNECT_REASONS = frozenset(
    value for name, value in vars(socketio.AsyncServer.reason).items() if name.isupper()
)


class CircleMsgPackPacket(MsgPackPacket):  # type: ignore[misc]
    """Integer map keys decode (and are refused with an answer by CircleServer) instead of
    failing deep inside the parser; anything that is not a packet is a ValueError."""

    def decode(self, encoded_packet: bytes) -> None:
        try:
            decoded = msgpack.loads(encoded_packet, strict_map_key=False)
        except Exception as exc:  # msgpack raises several types for corrupt input
            raise ValueError("not msgpack") from exc
        if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), int):
            raise ValueError("not a socket.io packet")
        namespace = decoded.get("nsp", "/")
        if not isinstance(namespace, str):
            raise ValueError("not a socket.io packet")
        self.packet_type = decoded["type"]
        self.data = decoded.get("data")
        self.id = decoded.get("id") if isinstance(decoded.get("id"), int) else None
        self.namespace = namespace


def refusal_of(data: object) -> dict[str, str] | None:
    """The error a client event earns before dispatch, or None when it may be handled."""
    event = data[0] if isinstance(data, list) and data else None
    if not isinstance(event, str) or not event or len(event) > EVENT_NAME_MAX:
        return {"error": "unknown_event", "message": "an event name is a short string"}
    if event in RESERVED_EVENTS or event.startswith("__"):
        return {"error": "unknown_event", "message": f"{event!r} is reserved"}
    if not _plain(data):
        return {"error": "invalid", "message": "map keys must be strings, nested at most 32 deep"}
    return None


def _plain(value: object) -> bool:
    """Every map key a string, and not nested too deep (iterative: no recursion limit)."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_NESTING:
            return False
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return False
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            pending.extend((v, depth + 1) for v in item)
    return True


class CircleServer(socketio.AsyncServer):  # type: ignore[misc]  # socketio is untyped
    def __init__(self, **options: Any) -> None:
        super().__init__(serializer=CircleMsgPackPacket, **options)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError as exc:
            log.info("closed a connection that sent a bad packet: %s", str(exc)[:60])
            await self.eio.disconnect(eio_sid)

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: Any
    ) -> None:
        refused = refusal_of(data)
        if refused is None:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        log.info("refused a client event before dispatch: %s", refused["message"][:60])
        if id is not None:
            reply = self.packet_class(packet.ACK, namespace=namespace or "/", id=id, data=[refused])
            await self._send_packet(eio_sid, reply)
