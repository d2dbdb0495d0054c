from collections.abc import Sequence

# The compiled writer (_rtp_send.c); see rtp_writer.RtpWriter for the same in Python.

class TransportSequence:
    next: int  # read-only
    def take(self, size: int) -> int: ...
    def sent(self, seq: int) -> tuple[float, int] | None: ...

class FrameWriter:
    ts_origin: int  # read-only
    ts_offset: int  # fan_out: added to the producer's timestamps
    packets_sent: int  # read-only
    octets_sent: int  # read-only
    last_ntp: int
    has_target: int  # read-only
    def __init__(
        self,
        ssrc: int,
        payload_type: int,
        first_seq: int,
        ts_origin: int,
        with_level: bytes,
        with_level_offsets: tuple[int, int, int],
        without_level: bytes,
        without_level_offsets: tuple[int, int, int],
        transport: TransportSequence | None = None,
    ) -> None: ...
    @property
    def timestamp(self) -> int: ...
    def write(
        self,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None = None,
    ) -> list[bytes]: ...
    def set_target(
        self, srtp_context: int, protect: int, fd: int, host: str, port: int
    ) -> None: ...
    def send(
        self,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> int: ...
    def packet(self, seq: int) -> bytes | None: ...

def fan_out(
    writers: Sequence[FrameWriter],
    payloads: list[bytes],
    timestamp: int,
    send_time: int,
    audio_level: tuple[bool, int] | None,
    ntp: int,
) -> list[int]: ...
