"""Voice activity of one person from RFC 6464 audio levels, adapted to their own microphone.

A level is voice when it is loud enough in absolute terms, stands clearly above that person's
noise floor, and moves the way speech does (syllable by syllable) rather than holding steady
the way hiss, hum and fans do. The floor is a low percentile of their recent levels that were
not voice, so it follows a microphone's noise, and auto gain slowly lifting it, while they are
silent. Pure: fed (level, voice bit, time), never reads a clock. Method and parameters:
docs/engagement.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

from rooms.level_window import LEVELS, LevelWindow


@dataclass(frozen=True)
class VoiceActivityConfig:
    """Every parameter, with its unit in its name."""

    quietest_voice_dbov: int = -55  # quieter is never voice (a floor, not the rule)
    above_floor_db: int = 9  # voice stands at least this far above the person's noise floor
    floor_window_ms: int = 8000  # the floor: a low percentile of recent non-voice levels...
    floor_percentile: int = 10  # ...this percentile, counted from the quietest
    floor_min_packets: int = 5  # fewer non-voice levels than this: the floor is not known yet
    fluctuation_window_ms: int = 400  # speech moves within this (syllables come at 3-6 Hz)...
    fluctuation_min_db: int = 6  # ...by at least this; steady noise does not
    peak_above_floor_db: int = 11  # ...and reach this far over the floor (a syllable's peak)
    syllable_gap_ms: int = 60  # under the voice line this long ends a syllable: what rises
    # after it needs a peak of its own (a browser's auto gain lifts the noise after a turn),
    # unless the voice is faint (below): its own syllables barely reach the peak
    continue_ms: int = 200  # within this of such voice, a level this far over the floor...
    continue_above_floor_db: int = 2  # ...and over the top of the person's recent noise...
    noise_top_percentile: int = 90  # ...(this percentile of it) is voice too: the soft sounds
    # between and after syllables
    # A turn's soft onset must also rise over the noise just before it, and its fade stand over
    # the noise just after it (each the median of this long): a browser's auto gain lifts the
    # noise around a quiet voice's turn over the floor learned in the silence before.
    edge_noise_ms: int = 300
    # Under the peak line, a level held within held_db for held_ms is noise: speech there is
    # rising into a syllable or fading from it (Chromium lets a hum through after a turn, flat)
    held_db: int = 1
    held_ms: int = 60
    gap_ms: int = 60  # no packet for longer than this: the sender was silent (Opus DTX)
    settle_ms: int = 1000  # a stream's first levels, while the browser's processing settles,...
    # ...teach the floor and are never voice
    young_stream_ms: int = 3000  # until then voice is also louder than the top of the noise (of
    # a stream that opened on noise: its loudest noise so far)
    # A stream that opens quieter than this opens on its microphone's noise, not on speech: its
    # first levels are never voice, even before its floor is known (a noise suppressor that has
    # not engaged yet lets loud raw noise through)
    opening_voice_dbov: int = -45
    trusted_above_floor_db: int = 14  # the loud part of voice (this percentile of how far...
    trusted_percentile: int = 90  # ...it stands above the floor) under this: too noisy...
    trusted_min_voice_ms: int = 1000  # ...once there is this much voice to judge by...
    evidence_voice_ms: int = 10_000  # ...over the last this much voice
    # A voice whose loud part stands less than this over the floor loses the soft onset and
    # fade of each word under the noise (about 100 ms each side), so the pause between two
    # sentences looks that much longer: its speech bridges pauses this much longer too.
    faint_above_floor_db: int = 20
    faint_min_voice_ms: int = 200  # judged once there is this much voice
    faint_extra_hangover_ms: int = 200
    packet_ms: int = 20  # audio carried by one packet

    def __post_init__(self) -> None:
        if self.floor_percentile > self.noise_top_percentile:
            raise ValueError("floor_percentile over noise_top_percentile: a floor above the noise")

    # The durations `hear` needs on every packet, in seconds, worked out once.

    @cached_property
    def gap_s(self) -> float:
        return self.gap_ms / 1000

    @cached_property
    def fluctuation_window_s(self) -> float:
        return self.fluctuation_window_ms / 1000

    @cached_property
    def held_packets(self) -> int:
        """The packets over which a held level spans held_ms (both ends counted)."""
        return self.held_ms // self.packet_ms + 1

    @cached_property
    def syllable_gap_s(self) -> float:
        return self.syllable_gap_ms / 1000

    @cached_property
    def continue_s(self) -> float:
        return self.continue_ms / 1000

    @cached_property
    def edge_s(self) -> float:
        """How long an onset's rise or a fade and the noise next to it last."""
        return (self.continue_ms + self.edge_noise_ms) / 1000

    @cached_property
    def settle_s(self) -> float:
        return self.settle_ms / 1000

    @cached_property
    def young_stream_s(self) -> float:
        return self.young_stream_ms / 1000


@dataclass
class VoiceActivity:
    """Feed every packet's level with `hear`; it says whether that packet is voice."""

    config: VoiceActivityConfig = field(default_factory=VoiceActivityConfig)
    floor_dbov: int | None = None  # the noise floor, once known
    soft: bool = False  # the last packet was voice by the soft-sound rule alone, after noise
    _voiced: bool = False  # the last packet was voice
    rise_at: float | None = None  # where the soft rise into the current voice began
    _before: deque[tuple[float, int]] = field(default_factory=deque)  # (at, dBov), an onset's
    _after_voice: list[tuple[float, int]] = field(default_factory=list)  # since the last voice
    noise_top_dbov: int | None = None  # how loud the noise gets (noise_top_percentile)
    # the loudest non-voice level while young, of a stream that opened on noise (it sets the
    # young stream's voice line over the noise top)
    _young_noise_dbov: int | None = None
    _last_at: float | None = None
    _first_at: float = 0.0  # the stream's first packet
    _opened_on_noise: bool = False  # its first level was quieter than speech opens
    _last_voice_at: float | None = None  # the last packet voiced by all three rules
    # the fluctuation window: times and dBov apart, so that its spread is found by min and max
    _recent_at: deque[float] = field(default_factory=deque)
    _recent_dbov: deque[int] = field(default_factory=deque)
    _under_since: float | None = None  # the level went under the voice line here
    _syllable_from: float = 0.0  # the current syllable's peak is looked for from here
    _quiet: LevelWindow = field(init=False)  # recent non-voice levels: the floor and noise top
    _heights: deque[int] = field(init=False)  # voice above the floor, dB (evidence_voice_ms)

    def __post_init__(self) -> None:
        config = self.config
        percentiles = (config.floor_percentile, config.noise_top_percentile)
        self._quiet = LevelWindow(config.floor_window_ms / 1000, percentiles)
        self._heights = deque(maxlen=config.evidence_voice_ms // config.packet_ms)

    def hear(self, level: int, voice_bit: bool | None, at: float) -> bool:
        """One packet's level (0 loudest .. 127 silence) at `at` seconds. The voice bit is
        accepted and not used: Chromium sets it on nearly every packet (docs/engagement.md)."""
        config = self.config
        self.soft = False
        if not 0 <= level < LEVELS:  # nearly always in range: clamped only when not
            level = max(0, min(LEVELS - 1, level))
        dbov = -level
        # The first packet, and the first after a DTX gap, follow silence: speech that starts
        # there has moved from silence already. Otherwise speech must move within the window.
        last_at = self._last_at
        after_gap = last_at is None or at - last_at > config.gap_s
        if last_at is None:
            self._first_at = at
            self._opened_on_noise = dbov < config.opening_voice_dbov
        self._last_at = at
        self._remember(at, dbov)
        recent_at, recent_dbov = self._recent_at, self._recent_dbov
        if after_gap:
            recent_at.clear()
            recent_dbov.clear()
        recent_at.append(at)
        recent_dbov.append(dbov)
        horizon = at - config.fluctuation_window_s
        while recent_at[0] < horizon:
            recent_at.popleft()
            recent_dbov.popleft()
        floor = self.floor_dbov
        if floor is not None and dbov < floor + config.above_floor_db:
            if self._under_since is None:
                self._under_since = at
        elif self._under_since is not None:
            if at - self._under_since >= config.syllable_gap_s and not self.faint:
                self._syllable_from = at
            self._under_since = None
        # While a stream is young, voice stands over the top of its noise too (over the loudest
        # of it, when it opened on noise): a browser's noise suppressor may engage late, or its
        # processing burst as it settles. Speech from the first packet is not that noise.
        young = at - self._first_at < config.young_stream_s
        loudest_noise = self._young_noise_dbov
        young_noise = self.noise_top_dbov if loudest_noise is None else loudest_noise
        above = (
            dbov >= config.quietest_voice_dbov
            and (floor is None or dbov >= floor + config.above_floor_db)
            and (not young or young_noise is None or dbov > young_noise)
            # last, as the only rule that scans the window
            and (after_gap or max(recent_dbov) - min(recent_dbov) >= config.fluctuation_min_db)
        )
        # Until a floor is known, moving is all that tells speech from noise, and what it asks
        # then is a rise: a browser's processing can open a stream on a burst that only falls
        # away. A fall is then neither voice nor noise to learn from (it may be a syllable's).
        falling = (
            above
            and floor is None
            and not after_gap
            and not _rose(recent_dbov, config.fluctuation_min_db)
        )
        above = above and not falling
        if above and floor is not None:  # the evidence for `noisy`
            self._heights.append(dbov - floor)
        # A syllable peaks well over the noise; a browser's auto gain or noise suppressor lifts
        # the noise by a few dB only, and most while it settles at the start of a stream.
        settled = at - self._first_at >= config.settle_s
        voice = above and (
            (floor is None and (settled or not self._opened_on_noise))
            or (
                floor is not None
                and settled
                and self._syllable_peaked(floor + config.peak_above_floor_db, dbov, at)
                # (over the peak line nothing is held: most of speech, judged without a call)
                and (dbov >= floor + config.peak_above_floor_db or not self._held(dbov))
            )
        )
        if voice and floor is not None:
            if not self._voiced:  # speech rose softly into this: it began there
                self.rise_at = self._rise(at)
            self._last_voice_at = at
            self._after_voice.clear()
        elif (
            # Speech is loud at syllables and soft between and after them: within a moment of
            # clear voice, a level still above the noise is the same speech going on.
            self._last_voice_at is not None
            and at - self._last_voice_at <= config.continue_s
            and self._soft_over(dbov, None)
            and not self._held(dbov)
        ):
            # Straight after voice it is the fading end of the sound: part of the speech. After
            # a packet of noise it only tells that the speech goes on (`soft`).
            self.soft = not self._voiced
            self._voiced = True
            return True
        if not voice:
            if not falling:
                self._learn_floor(level, at)
            if young and self._opened_on_noise and (loudest_noise is None or dbov > loudest_noise):
                self._young_noise_dbov = dbov
        self._voiced = voice
        return voice

    def _held(self, dbov: int) -> bool:
        """The level `dbov`, under a syllable's peak, has held still for held_ms: speech there
        rises into a syllable or fades from it, noise (a hum let through after a turn) holds."""
        floor = self.floor_dbov
        if floor is None or dbov >= floor + self.config.peak_above_floor_db:
            return False
        recent, count = self._recent_dbov, self.config.held_packets
        if len(recent) < count:
            return False
        quietest = loudest = dbov
        for back in range(2, count + 1):
            level = recent[-back]
            quietest, loudest = min(quietest, level), max(loudest, level)
        return loudest - quietest <= self.config.held_db

    def _syllable_peaked(self, line: int, dbov: int, at: float) -> bool:
        """The current syllable (what the window holds of it) reached `line`: mostly, the
        level `dbov` being heard at `at` did."""
        since = self._syllable_from
        if dbov >= line and at >= since:
            return True
        window = zip(self._recent_at, self._recent_dbov, strict=True)
        return any(d >= line for t, d in window if t >= since)

    def _remember(self, at: float, dbov: int) -> None:
        """Keep what an onset's rise and a fade are judged by."""
        kept_s = self.config.edge_s
        before = self._before
        before.append((at, dbov))
        horizon = at - kept_s
        while before[0][0] < horizon:
            before.popleft()
        last = self._last_voice_at
        if last is not None and 0 < at - last <= kept_s:
            self._after_voice.append((at, dbov))

    def _soft_over(self, dbov: int, noise_dbov: int | None) -> bool:
        """A soft sound: over the floor, the top of the noise and the noise next to it."""
        config, floor, top = self.config, self.floor_dbov, self.noise_top_dbov
        if floor is None or top is None:
            return False
        near = floor if noise_dbov is None else max(floor, noise_dbov)
        return (
            dbov >= config.quietest_voice_dbov
            and dbov >= near + config.continue_above_floor_db
            and dbov > top
        )

    def _rise(self, at: float) -> float:
        """Where the soft sounds leading without a break into voice at `at` began, within
        continue_ms of it and over the noise in the edge_noise_ms before that."""
        config = self.config
        earliest = at - config.continue_s
        noise = _median([d for t, d in self._before if t < earliest])
        rise = at
        for t, dbov in reversed([p for p in self._before if earliest <= p[0] < at]):
            if rise - t > config.gap_s or not self._soft_over(dbov, noise):
                break
            rise = t
        return rise

    def fade_end(self) -> float | None:
        """Where the last voice's fade ended: the soft sounds straight after it that stand
        over the noise heard after them; None while that noise is not heard yet."""
        config, last = self.config, self._last_voice_at
        if last is None:
            return None
        fade_until = last + config.continue_s
        after = [d for t, d in self._after_voice if t > fade_until]
        if len(after) < config.floor_min_packets:
            return None
        noise = _median(after)
        end = last + config.packet_ms / 1000
        for t, dbov in self._after_voice:
            if t > fade_until or t - end > config.gap_s or not self._soft_over(dbov, noise):
                break
            end = t + config.packet_ms / 1000
        return end

    def _learn_floor(self, level: int, at: float) -> None:
        quiet = self._quiet
        quiet.add(level, at)
        if len(quiet) < self.config.floor_min_packets:
            return  # keep what was known
        self.floor_dbov, self.noise_top_dbov = -quiet.percentile(0), -quiet.percentile(1)

    def _loud_height_db(self, min_voice_ms: int) -> int | None:
        """How far the loud part of the voice (trusted_percentile) stands over the floor, once
        there is `min_voice_ms` of voice to judge by."""
        config = self.config
        if len(self._heights) * config.packet_ms < min_voice_ms:
            return None
        heights = sorted(self._heights)
        return heights[min(len(heights) - 1, len(heights) * config.trusted_percentile // 100)]

    @property
    def noisy(self) -> bool:
        """Too noisy to measure: even the loud part of what was taken for voice stood too
        little above the floor to tell speech from noise."""
        loud = self._loud_height_db(self.config.trusted_min_voice_ms)
        return loud is not None and loud < self.config.trusted_above_floor_db

    @property
    def faint(self) -> bool:
        """The loud part of the voice stands less than faint_above_floor_db over the floor:
        the soft edges of its words are under the noise."""
        config = self.config
        loud = self._loud_height_db(config.faint_min_voice_ms)
        return loud is not None and loud < config.faint_above_floor_db

    @property
    def extra_hangover_ms(self) -> int:
        """Pause bridged on top of the usual hangover: a faint voice's hidden edges."""
        return self.config.faint_extra_hangover_ms if self.faint else 0


def _rose(levels: deque[int], by_db: int) -> bool:
    """Some level is `by_db` louder than one before it: speech rises into its syllables."""
    quietest = levels[0]
    for dbov in levels:
        if dbov - quietest >= by_db:
            return True
        quietest = min(quietest, dbov)
    return False


def _median(levels: list[int]) -> int | None:
    return sorted(levels)[len(levels) // 2] if levels else None
