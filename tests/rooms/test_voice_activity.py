"""Voice activity that adapts to each microphone, through the engagement engine: level traces
computed as a browser computes RFC 6464 levels from synthesized noise (white, pink, hum at
-70 to -45 dBFS) and speech-like sound (-20 to -40 dBov, syllables at 3-6 Hz, 0.2-0.4 s pauses,
short backchannels), with a member who never speaks on the same noise. Targets per speaker:
speaking time within 5 % or 0.3 s (the larger), turns exact, the speaking mark within 300 ms of
a turn's start; the silent member at most 0.5 s, 0 turns, never in an alert. A speaker whose
voice stands too little above the noise (under 10 dB) is reported as a noisy microphone and
never alerted on as dominating."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest

from rooms.engagement import Engagement
from rooms.voice_activity import VoiceActivity
from tests.rooms.level_traces import FRAME_S, Frames, Lift, Sentence, frames

SECONDS = 40.0
JOINED_S = 0.5  # levels start this long after everyone joined
SCRIPT: dict[str, tuple[float, list[Sentence]]] = {
    # name: (speech dBov, sentences: two joined by a 0.2-0.4 s pause are one turn)
    "loud": (-20.0, [(2.0, 4.5), (4.8, 7.0), (20.0, 23.0), (30.0, 30.4)]),  # then "yeah"
    "mid": (-30.0, [(8.0, 10.5), (10.75, 13.0), (23.5, 23.9), (35.0, 37.5)]),  # "mm-hm"
    "quiet": (-40.0, [(14.0, 16.0), (16.35, 18.5), (26.0, 26.5), (31.0, 34.0)]),
    "silent": (-30.0, []),
}
MEASURABLE_SNR_DB = 10.0  # speech at least this far above the noise: measured to the targets


@cache
def trace(name: str, kind: str) -> Frames:
    return frames(SCRIPT[name][1], SECONDS, kind, seed=list(SCRIPT).index(name) + 1)


def turns(sentences: list[Sentence]) -> list[tuple[float, float]]:
    """The truth: sentences less than the 500 ms hangover apart are one turn."""
    merged: list[tuple[float, float]] = []
    for start, end in sentences:
        if merged and start - merged[-1][1] < 0.5:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(JOINED_S + start, JOINED_S + end) for start, end in merged]


@dataclass
class Run:
    engine: Engagement
    marked: dict[str, list[float]]  # when the speaking mark went on
    end: float


def run(levels: dict[str, list[int]], repeat: int = 1) -> Run:
    e = Engagement()
    for pid in levels:
        e.join(pid, {"name": pid, "role": "participant"}, 0.0)
    marked: dict[str, list[float]] = {pid: [] for pid in levels}
    before: set[str] = set()
    count = len(next(iter(levels.values())))
    at = JOINED_S
    for i in range(count * repeat):
        at = round(JOINED_S + i * FRAME_S, 3)
        for pid, trace_levels in levels.items():
            e.level(pid, trace_levels[i % count], at)
        now = e.speaking_now()
        for pid in now - before:
            marked[pid].append(at)
        before = now
    end = at + 1.0
    e.tick(end)
    return Run(e, marked, end)


def check_speaker(result: Run, pid: str, truth: list[tuple[float, float]]) -> None:
    m = result.engine.metrics(result.end)["participants"][pid]
    truth_s = sum(end - start for start, end in truth)
    assert m["speaking_s"] == pytest.approx(truth_s, abs=max(0.05 * truth_s, 0.3)), (pid, m)
    assert m["turns"] == len(truth), (pid, m)
    for start, _ in truth:
        mark = min((at for at in result.marked[pid] if at >= start - 0.1), default=None)
        assert mark is not None and mark - start <= 0.3, (pid, start, mark)
    assert m["noisy_microphone"] is False


@pytest.mark.parametrize("noise_dbov", [-70, -60, -55, -50, -45])
@pytest.mark.parametrize("kind", ["white", "pink", "hum"])
def test_speakers_on_noisy_microphones(kind: str, noise_dbov: float) -> None:
    levels = {
        name: trace(name, kind).levels(speech_dbov, noise_dbov)
        for name, (speech_dbov, _) in SCRIPT.items()
    }
    result = run(levels)
    participants = result.engine.metrics(result.end)["participants"]
    for name, (speech_dbov, sentences) in SCRIPT.items():
        if name == "silent":
            m = participants[name]
            assert m["speaking_s"] <= 0.5 and m["turns"] == 0, m
        elif speech_dbov - noise_dbov >= MEASURABLE_SNR_DB:
            check_speaker(result, name, turns(sentences))
        else:  # the quiet voice 5 dB over a -45 dBFS hiss: untrustworthy, and says so
            assert participants[name]["noisy_microphone"] is True, participants[name]


def test_auto_gain_lifting_the_floor_in_silence_is_not_speech() -> None:
    lift: Lift = (10.0, 20.0)  # +10 dB over the first 20 s, then held (a fast auto gain)
    levels = {
        name: trace(name, "white").levels(speech_dbov, -60.0, lift)
        for name, (speech_dbov, _) in SCRIPT.items()
    }
    result = run(levels)
    m = result.engine.metrics(result.end)["participants"]["silent"]
    assert m["speaking_s"] <= 0.5 and m["turns"] == 0, m
    for name in ("loud", "mid", "quiet"):  # the quiet one is 10 dB over the lifted floor
        check_speaker(result, name, turns(SCRIPT[name][1]))
    slow = {"silent": trace("silent", "pink").levels(-30.0, -65.0, (10.0, 60.0))}
    m = run(slow, repeat=2).engine.metrics(90.0)["participants"]["silent"]
    assert m["speaking_s"] <= 0.5 and m["turns"] == 0, m


def test_no_dominance_alert_on_a_microphone_too_noisy_to_measure() -> None:
    """Four times the script (160 s), every share of the talk over a 10 % dominance limit:
    the quiet voice on a -45 dBFS hum is never alerted on, the loud speaker is."""
    levels = {
        "loud": trace("loud", "hum").levels(-20.0, -70.0),
        "quiet": trace("quiet", "hum").levels(-40.0, -45.0),
        "silent": trace("silent", "hum").levels(-30.0, -45.0),
    }
    quiet_noise = trace("silent", "white").levels(-30.0, -45.0)  # their noise between turns
    levels["noisy"] = [min(a, b) for a, b in zip(levels["quiet"], quiet_noise, strict=True)]
    result = run(levels, repeat=4)
    e = result.engine
    e.configure_alerts(dominance_share_pct=10.0, dominance_min_talk_ms=20_000)
    participants = e.metrics(result.end)["participants"]
    assert participants["noisy"]["noisy_microphone"] is True
    assert participants["silent"]["speaking_s"] <= 0.5 and participants["silent"]["turns"] == 0
    alerts = e.alerts(result.end)
    assert not {pid for _, pid in alerts} & {"noisy", "silent"}, alerts
    assert ("dominating", "loud") in alerts  # the alert itself still works


def test_a_steady_level_is_noise_even_when_loud_and_the_floor_follows_it() -> None:
    v = VoiceActivity()
    fan = [v.hear(40, None, round(i * FRAME_S, 3)) for i in range(200)]  # -40 dBov, steady
    assert sum(fan) <= 1  # at most the first packet (it follows silence): never an onset
    assert v.floor_dbov == -40
    talk = [v.hear(20 + (0, 8, 4, 8)[i % 4], None, round(4 + i * FRAME_S, 3)) for i in range(50)]
    assert all(talk)  # speech 12-20 dB over the fan, moving: voice from the first packet
    assert v.floor_dbov == -40 and v.noisy is False
    quiet = [v.hear(50, None, round(6 + i * FRAME_S, 3)) for i in range(50)]
    assert not any(quiet)  # quieter than the absolute floor (-55 dBov is the loudest it takes)


def test_soft_sounds_just_after_clear_voice_are_voice_but_never_start_it() -> None:
    va = VoiceActivity()
    at = 0.0
    for _ in range(100):  # a steady -50 dBov floor
        va.hear(50, None, at)
        at += 0.02
    # 6-7 dB over the floor, alone: never voice (the floor rule asks 9 dB)
    assert not any(va.hear(44 + k % 2, None, at + 0.02 * k) for k in range(20))
    at += 0.4
    assert va.hear(38, None, at)  # a syllable, 12 dB over the floor
    # the soft sound after it, moving by 2 dB as speech does (a level held still is noise)
    soft = [va.hear((44, 42, 43)[k % 3], None, at + 0.02 * (k + 1)) for k in range(15)]
    assert soft[:9] == [True] * 9  # ...is voice for up to 200 ms
    assert not any(soft[11:])  # ...and no longer
    assert va.floor_dbov == -50


def test_noise_lifted_a_few_db_by_a_browsers_processing_is_not_voice() -> None:
    va = VoiceActivity()
    at = 0.0
    for _ in range(100):  # -56 dBov after noise suppression
        va.hear(56, None, at)
        at += 0.02
    # auto gain lifts it for 400 ms: it moves (9 dB span) and stands 5-9 dB over the floor,
    # but never peaks the 11 dB over it that a syllable does
    lifted = [51, 51, 49, 48, 49, 50, 47, 51, 50, 53, 51, 48, 50, 52, 54, 50, 53, 54, 53, 51]
    assert not any(va.hear(level, None, at + 0.02 * k) for k, level in enumerate(lifted))
    at += 0.4
    assert va.hear(40, None, at)  # a syllable 16 dB over the floor is


def test_a_streams_first_half_second_over_a_known_floor_is_never_voice() -> None:
    va = VoiceActivity()
    # Chromium's processing settling: the noise jumps as the stream starts
    levels = [62, 61, 62, 60, 62, 61, 62, 62, 62, 62, 63, 66, 55, 56, 51, 55, 55, 48, 45, 46]
    assert not any(va.hear(level, None, 0.02 * k) for k, level in enumerate(levels) if k)
    # speech from the very first packet (the floor not yet known) is voice at once
    talker = VoiceActivity()
    assert all(talker.hear(level, None, 0.02 * k) for k, level in enumerate([30, 24, 30, 22]))


def _two_sentences(peak: int) -> list[int]:
    """A steady -47 dBov hiss, then two 1.5 s sentences (syllables peaking at `peak`) whose
    visible pause is 0.56 s: a 0.3 s pause with each side's soft edge under the hiss."""
    hiss = [47, 46] * 50
    syllables = ([peak + 8, peak + 3, peak, peak + 4, peak + 9, 47] * 13)[:75]
    return hiss + syllables + [47, 46] * 14 + syllables + [47, 46] * 75


@pytest.mark.parametrize(("peak", "turns"), [(33, 1), (20, 2)])
def test_a_faint_voice_bridges_the_pause_its_hidden_edges_widen(peak: int, turns: int) -> None:
    """Syllables 14 dB over the hiss lose their soft edges under it, so the pause between two
    sentences looks 0.2 s longer than it is: one turn. A voice 27 dB over it keeps its edges:
    the same visible pause is a real one, two turns."""
    result = run({"talker": _two_sentences(peak)})
    m = result.engine.metrics(result.end)["participants"]["talker"]
    assert m["turns"] == turns, m
    assert m["noisy_microphone"] is False


def test_noise_lifted_by_auto_gain_after_a_turn_does_not_lengthen_it() -> None:
    """Chromium's auto gain after a turn (the sweep, pink -50 dBFS): the noise comes back 4-5 dB
    over the floor learned before, and one packet of it 9 dB over, while the last syllable is
    still within the 400 ms the fluctuation rule looks back. It is not a syllable: it has no
    peak of its own. The turn ends with the speech and its fade."""
    floor = [57, 56] * 100  # 4 s
    speech = [20, 24, 30, 24, 18, 26] * 10  # 1.2 s, a voice 30+ dB over its floor
    fade = [32, 48, 50, 48, 47]
    lifted = [52, 53] * 7 + [48] + [52, 53] * 40
    result = run({"talker": floor + speech + fade + lifted})
    (turn,) = result.engine.utterances("talker")
    speech_end = JOINED_S + (len(floor) + len(speech) + len(fade)) * FRAME_S
    assert turn.end - speech_end <= 0.2, (turn, speech_end)


def test_a_hum_let_through_as_a_turn_ends_does_not_lengthen_it() -> None:
    """Chromium over a -47 dBFS 50 Hz hum (the sweep, traced): its noise suppressor holds the
    hum at -59 dBov in silence and lets it through at -50/-51 dBov as a quiet voice's turn ends,
    9 dB over the floor and held within 1 dB for 0.4 s, then Opus DTX sends only a pair of
    packets every 400 ms. The last syllable's peak was still within the 400 ms the fluctuation
    rule looks back, so the held hum counted as that syllable going on, then as its fade: the
    turn ran 0.4 s long. Under the peaks speech rises and fades; a level held still is noise."""
    e = Engagement()
    e.join("talker", {"name": "talker", "role": "participant"}, 0.0)
    speech = [20, 24, 30, 24, 18, 26] * 10 + [35, 47, 44, 38, 44, 49]  # its last syllable, traced
    held_hum = [50] * 8 + [51, 50] + [51] * 9
    levels = [59] * 150 + speech + held_hum
    for i, level in enumerate(levels):
        e.level("talker", level, round(i * FRAME_S, 3))
    speech_end = (150 + len(speech)) * FRAME_S
    dtx = round(len(levels) * FRAME_S + 0.4, 3)
    for pair in range(5):  # DTX: two packets every 400 ms
        for k in range(2):
            e.level("talker", 51, round(dtx + 0.4 * pair + FRAME_S * k, 3))
    e.tick(dtx + 3.0)
    (turn,) = e.utterances("talker")
    assert abs(turn.end - speech_end) <= 0.1, (turn, speech_end)


def test_a_noise_suppressor_engaging_late_is_not_a_turn() -> None:
    """Chromium's noise suppressor on a -50 dBFS hum (the sweep): 0.7 s of a steady level,
    then the hum at full level, held for 0.3 s past the first second, then suppressed over
    0.7 s. A member who never speaks gets no turn."""
    ramp = [42, 42, 42, 43, 44, 44, 45, 46, 47, 49, 51, 54, 55, 55, 56, 56, 56, 57, 57, 57]
    levels = [60] * 36 + [64, 43, 39, 40, 40] + [41] * 10 + ramp + [58] * 150
    result = run({"silent": levels})
    m = result.engine.metrics(result.end)["participants"]["silent"]
    assert m["speaking_s"] == 0 and m["turns"] == 0, m


def test_a_stream_opening_on_loud_raw_noise_is_not_a_turn() -> None:
    """Chromium over a -45 dBFS pink hiss (the sweep): the noise suppressor engages only after
    the first second, so the stream opens on the raw noise, -43 to -54 dBov, louder than the
    -55 dBov a voice may be, before any floor is known. It opened quieter than speech opens:
    noise, no turn. A stream that opens on speech is voice at once (the test above)."""
    opening = [53, 54, 52, 52, 52, 43, 48, 47, 47, 45, 47, 46, 43, 44, 48, 47, 46, 49, 48, 51]
    opening += [49, 46, 47, 50, 49, 51, 50, 51, 51, 50, 52, 51, 52, 52, 51, 50, 51, 52, 51, 51]
    result = run({"silent": opening + [52, 53] * 150})
    m = result.engine.metrics(result.end)["participants"]["silent"]
    assert m["speaking_s"] == 0 and m["turns"] == 0, m


def test_a_processing_transient_a_second_into_the_stream_is_not_a_turn() -> None:
    """Chromium over a -55 dBFS hum (the sweep): 0.9 s into the stream its processing lets
    through a burst 13 dB over the hum, held 0.2 s and fading over 0.3 s, the whole of it
    moving more than 6 dB within the fluctuation window. A member who never speaks gets no
    turn."""
    burst = [61, 52, 44, 45, 45, 45, 45, 45, 45, 45, 46, 46, 47, 47, 48, 49, 49, 50, 51, 52]
    burst += [54, 55, 57, 60, 61, 61, 62, 62, 62]
    result = run({"silent": [57, 58] * 23 + burst + [63] * 200})
    m = result.engine.metrics(result.end)["participants"]["silent"]
    assert m["speaking_s"] == 0 and m["turns"] == 0, m


def test_a_turn_ends_where_its_fade_meets_the_noise_after_it() -> None:
    """A quiet voice over -56 dBov noise that Chromium's auto gain lifts to -52/-53 dBov just
    as the turn ends (the sweep, white -50 dBFS): the fade (-48, -49 dBov) stands over the
    noise that follows; the packets after it (-52, -53) stand over the floor learned before
    the turn but not over the noise after it, so they are not the turn's."""
    floor = [55, 56] * 150  # 3 s
    speech = [20, 24, 30, 24, 18, 26] * 10  # 1.2 s
    fade = [48, 49, 48]
    lifted = [52, 53, 52, 52, 53, 52, 52, 53, 52, 52] + [53, 53, 52] * 40
    result = run({"talker": floor + speech + fade + lifted})
    (turn,) = result.engine.utterances("talker")
    fade_end = JOINED_S + (len(floor) + len(speech) + len(fade)) * FRAME_S
    assert abs(turn.end - fade_end) <= 0.03, (turn, fade_end)


def test_a_turn_starts_where_it_rises_from_the_noise_before_it() -> None:
    """The same noise lifted by auto gain 0.4 s before a quiet voice starts: the lifted noise
    (-51 to -53 dBov) is not the turn's soft onset, as it stands no higher than just before;
    a soft rise over steady noise still is (the turn starts with it)."""
    floor = [55, 56] * 150
    lifted = [52, 53, 51, 52] * 5  # 0.4 s
    speech = [30, 22, 26, 20, 28, 24] * 10
    result = run({"talker": floor + lifted + speech + floor})
    (turn,) = result.engine.utterances("talker")
    speech_start = JOINED_S + (len(floor) + len(lifted)) * FRAME_S
    assert abs(turn.start - speech_start) <= 0.03, (turn, speech_start)
    rise = [50, 48, 46]  # a soft onset rising out of the steady noise
    result = run({"talker": floor + rise + speech + floor})
    (turn,) = result.engine.utterances("talker")
    rise_start = JOINED_S + len(floor) * FRAME_S
    assert abs(turn.start - rise_start) <= 0.03, (turn, rise_start)


def test_a_voice_rising_softly_out_of_the_noise_is_marked_at_its_first_clear_packet() -> None:
    """A quiet voice's word rises through the noise for 100 ms before it is clear voice (as
    Cleo's "Uh huh" over -50 dBFS white did in Chromium): that soft lead counts toward the
    attack, so the mark comes with the first clear packet, not 40 ms later. A single loud
    packet out of steady noise, with no soft lead, is still not speech."""
    floor = [55, 56] * 150
    rise = [52, 50, 49, 48, 47]  # 0.1 s, each over the noise before it
    speech = [43, 38, 35, 37, 41, 36] * 10
    result = run({"talker": floor + rise + speech + floor})
    first_clear = JOINED_S + (len(floor) + len(rise)) * FRAME_S
    assert result.marked["talker"] == [pytest.approx(first_clear)]
    click = [40]
    result = run({"talker": floor + click + floor})
    assert result.marked["talker"] == []


# A voice's utterances as real groups speak them: sentence breaks of 0.2, 0.34 and 0.45 s
# inside an utterance (one turn each) and backchannels ("mm-hm", "yes") of 0.3, 0.8 and 0.5 s.
UTTERANCES: list[Sentence] = [
    (2.0, 3.6), (3.8, 6.0), (9.0, 9.3), (13.0, 15.0), (15.34, 17.2), (20.0, 20.8),
    (24.0, 25.5), (25.95, 27.0), (30.0, 30.5),
]  # fmt: skip
UTTERANCES_S = 34.0
PITCH_HZ = {"low": 85.0, "middle": 150.0, "high": 250.0}  # a deep voice's is among a hum's
# harmonics (50 Hz: 100, 150, 200, 250; 60 Hz: 120, 180, 240)


@cache
def voice_trace(pitch: str | None, kind: str) -> Frames:
    """The utterances at `pitch` (None: no speech, the silent member) over `kind` noise."""
    if pitch is None:
        return frames([], UTTERANCES_S, kind, seed=8)
    return frames(UTTERANCES, UTTERANCES_S, kind, seed=7, pitch_hz=PITCH_HZ[pitch])


@pytest.mark.parametrize("noise_dbov", [-60, -47])
@pytest.mark.parametrize("kind", ["hum50", "hum"])
@pytest.mark.parametrize("pitch", list(PITCH_HZ))
def test_every_pitch_over_mains_hum_keeps_its_sentences_and_backchannels(
    pitch: str, kind: str, noise_dbov: float
) -> None:
    result = run(
        {
            "talker": voice_trace(pitch, kind).levels(-26.0, noise_dbov),
            "silent": voice_trace(None, kind).levels(-26.0, noise_dbov),
        }
    )
    check_speaker(result, "talker", turns(UTTERANCES))
    m = result.engine.metrics(result.end)["participants"]["silent"]
    assert m["speaking_s"] <= 0.5 and m["turns"] == 0, m


# Chromium over a -47 dBFS 60 Hz hum (the sweep's traced levels): a stream that opens on a
# burst of its processing, -37 dBov, falling without a rise into the suppressed hum at -53/-54
# dBov, before any floor is known.
OPENING_BURST = [37, 38, 38, 40, 40, 43, 44, 45, 47, 51, 54]


def test_a_stream_opening_on_a_falling_burst_gets_no_turn_of_it() -> None:
    """The low voice's four utterances (two with a 0.34 s sentence break, a 0.45 s "mm-hm")
    are four turns, timed to the truth: the falling burst its stream opened on is not a fifth
    (it was: 0.56 s of the hum after it counted as speech, as no floor was known yet). The
    member who never speaks, whose stream opened on the same burst, gets no turn."""
    sentences: list[Sentence] = [
        (2.0, 3.6), (3.94, 6.0), (9.0, 9.45), (13.0, 15.0), (15.34, 17.2), (20.0, 20.6)
    ]  # fmt: skip
    talker = frames(sentences, 24.0, "hum", seed=3, pitch_hz=PITCH_HZ["low"])
    silent = frames([], 24.0, "hum", seed=4)
    levels = {
        "low": OPENING_BURST + talker.levels(-24.0, -53.0)[len(OPENING_BURST) :],
        "silent": OPENING_BURST + silent.levels(-24.0, -53.0)[len(OPENING_BURST) :],
    }
    result = run(levels)
    check_speaker(result, "low", turns(sentences))
    m = result.engine.metrics(result.end)["participants"]["silent"]
    assert m["speaking_s"] == 0 and m["turns"] == 0, m
