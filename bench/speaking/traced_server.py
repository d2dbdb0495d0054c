"""The real server, plus a trace of the audio levels it hears, for the speaking sweep only.

    python -m bench.speaking.traced_server <the flags of `python -m server serve`> --trace FILE

Each RFC 6464 level the registry receives is appended to FILE as one line,
`participant_id arrival_s media_s level voice_bit` (monotonic seconds): levels of the
benchmark's synthesized speech, so the benchmark can compare Chromium's voice bit and the
detector with the truth packet by packet. Nothing else changes; the product never traces.
"""

from __future__ import annotations

import atexit
import sys

from server.cli import main
from server.live.registry import LiveSessions
from server.media.producer import AudioLevel


def traced(path: str) -> None:
    sink = open(path, "w", buffering=1 << 16)
    atexit.register(sink.close)
    original = LiveSessions._on_audio_level

    def on_audio_level(self: LiveSessions, session_id: str, level: AudioLevel) -> None:
        media = level.at if level.media_at is None else level.media_at
        sink.write(
            f"{level.participant_id} {level.at:.4f} {media:.4f} {level.level} {int(level.voice)}\n"
        )
        original(self, session_id, level)

    LiveSessions._on_audio_level = on_audio_level  # type: ignore[method-assign]


if __name__ == "__main__":
    args = sys.argv[1:]
    at = args.index("--trace")
    traced(args[at + 1])
    raise SystemExit(main(["serve", *args[:at], *args[at + 2 :]]))
