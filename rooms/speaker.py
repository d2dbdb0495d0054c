"""Active-speaker detection from RFC 6464 audio levels (level 0 loudest, 127 silence)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SpeakerConfig:
    voice_level_max_dbov: int = 50  # a packet at this level or louder counts as voice
    window_ms: int = 1000  # loudness is summed over this window
    switch_ratio: float = 1.3  # a new speaker must be this much louder to take over
    clear_after_ms: int = 1500  # no voice for this long: nobody is the active speaker


@dataclass
class _Track:
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    score: int = 0


class ActiveSpeaker:
    """Feed levels with `add`, ask `current(now)` at any time; who is speaking changes only
    when another participant is clearly louder over the window (no flapping on short words)."""

    def __init__(self, config: SpeakerConfig | None = None) -> None:
        self.config = config or SpeakerConfig()
        self._tracks: dict[str, _Track] = {}
        self._speaker: str | None = None
        self._last_voice_at = float("-inf")

    def add(self, participant_id: str, level: int, voice: bool, at: float) -> None:
        quietest_voice = self.config.voice_level_max_dbov
        if not voice or level > quietest_voice:
            return
        track = self._tracks.get(participant_id)
        if track is None:  # not setdefault: it would build a track for every packet
            track = self._tracks[participant_id] = _Track()
        weight = quietest_voice + 1 - level
        track.samples.append((at, weight))
        track.score += weight
        if at > self._last_voice_at:
            self._last_voice_at = at

    def remove(self, participant_id: str) -> None:
        self._tracks.pop(participant_id, None)
        if self._speaker == participant_id:
            self._speaker = None

    def current(self, now: float) -> str | None:
        horizon = now - self.config.window_ms / 1000
        clear = now - self.config.clear_after_ms / 1000
        for track in self._tracks.values():
            while track.samples and track.samples[0][0] < horizon:
                track.score -= track.samples.popleft()[1]
        scores = {pid: t.score for pid, t in self._tracks.items() if t.score > 0}
        if not scores:
            if self._last_voice_at < clear:
                self._speaker = None
            return self._speaker
        loudest = max(scores, key=lambda p: scores[p])
        held = scores.get(self._speaker, 0) if self._speaker else 0
        if self._speaker is None or scores[loudest] > held * self.config.switch_ratio:
            self._speaker = loudest
        return self._speaker
