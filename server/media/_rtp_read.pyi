from server.media.rtp_reader import ReceivedPacket

# The compiled receive front (_rtp_read.c); see rtp_reader.read_rtp for the same in Python.

class SrtpReader:
    def __init__(
        self,
        owner: object,
        srtp_context: int,
        unprotect: int,
        audio_level: int,
        abs_send_time: int,
        rid: int,
        repaired_rid: int,
        transport_sequence: int,
    ) -> None: ...
    def read(self, data: bytes) -> ReceivedPacket | None: ...

def set_packet_type(packet_type: type[ReceivedPacket]) -> None: ...
