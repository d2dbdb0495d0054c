# The compiled writer (_rtp_send.c); see rtp_writer.RtpWriter for the same in Python.

class FrameWriter:
    def __init__(
        self,
        ssrc: int,
        payload_type: int,
        first_seq: int,
        ts_origin: int,
        with_level: bytes,
        with_level_offsets: tuple[int, int],
        without_level: bytes,
        without_level_offsets: tuple[int, int],
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
    def send(
        self,
        payloads: list[bytes],
        timestamp: int,
        send_time: int,
        audio_level: tuple[bool, int] | None,
        srtp_context: int,
        protect: int,
        fd: int,
        host: str,
        port: int,
    ) -> int: ...
    def packet(self, seq: int) -> bytes | None: ...
