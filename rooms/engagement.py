"""Engagement signals: who speaks, for how long, in turn with whom; who has gone silent; who
takes part in other ways; who is present. Pure: fed RFC 6464 audio levels and domain events
with their times, asked for metrics at a time. No audio is ever decoded: a level is all it gets.

Definitions of every metric and threshold: docs/engagement.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rooms import controls
from rooms.controls.continuity import ParticipantReconnected, ParticipantReconnecting
from rooms.engagement_record import PersonRecord, VoiceState, enter_room, leave_room
from rooms.model import (
    DomainEvent,
    Everyone,
    Only,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RoomChanged,
)
from rooms.talk import Utterance, balance_index, clipped_total, floor_dynamics
from rooms.voice_activity import VoiceActivity, VoiceActivityConfig


@dataclass(frozen=True)
class EngagementConfig:
    """Every threshold, with its unit in its name."""

    packet_ms: int = 20  # audio carried by one packet
    attack_ms: int = 60  # this much voice within attack_window_ms starts speech
    attack_window_ms: int = 200
    hangover_ms: int = 500  # pauses shorter than this inside speech are still speaking
    min_turn_ms: int = 200  # shorter bursts (a cough, a click) are not turns
    interruption_takeover_ms: int = 2000  # the interrupted speaker stops within this
    recent_window_ms: int = 600_000  # "the last 10 minutes"
    voice: VoiceActivityConfig = field(default_factory=VoiceActivityConfig)  # which packets


@dataclass(frozen=True)
class AlertSettings:
    """Per session; a facilitator can tune or turn them off."""

    enabled: bool = True
    dominance_share_pct: float = 40.0  # of the talk in the recent window
    dominance_min_talk_ms: int = 120_000  # ...once the group has talked this much in it
    silence_min: float = 15.0  # minutes without speaking while present


class Engagement:
    """One session's engagement engine."""

    def __init__(self, config: EngagementConfig | None = None) -> None:
        self.config = config or EngagementConfig()
        self.alert_settings = AlertSettings()
        self.measuring = True  # the facilitator may turn measurement off for the session
        self.people: dict[str, PersonRecord] = {}
        self.opted_out: set[str] = set()  # kept from before admission too

    # -- inputs ---------------------------------------------------------------------------

    def join(self, pid: str, public: dict[str, Any], at: float) -> None:
        person = self.people.get(pid)
        if person is None:
            person = self.people[pid] = PersonRecord(str(public["name"]), str(public["role"]))
            person.voice = self._new_voice()
            person.first_joined = at
        person.opted_out = pid in self.opted_out
        person.present.set(True, at)
        enter_room(person, person.room, at)
        self._update(pid, public, at)

    def leave(self, pid: str, at: float) -> None:
        person = self.people.get(pid)
        if person is None or not person.present.on:
            return
        self._stop_speaking(person, at)
        person.present.set(False, at)
        leave_room(person, at)
        person.video.set(False, at)
        person.muted.set(False, at)
        person.muted_by_leader.set(False, at)
        person.last_left = at

    def opt_out(self, pid: str, opted_out: bool, at: float) -> None:
        """A participant's choice: their speech is neither measured nor kept."""
        if opted_out:
            self.opted_out.add(pid)
        else:
            self.opted_out.discard(pid)
        person = self.people.get(pid)
        if person is None:
            return
        person.opted_out = opted_out
        if opted_out:
            person.voice = self._new_voice()
            person.utterances.clear()

    def _new_voice(self) -> VoiceState:
        return VoiceState(activity=VoiceActivity(self.config.voice))

    def set_measuring(self, measuring: bool, at: float) -> None:
        if not measuring:
            for person in self.people.values():
                self._stop_speaking(person, at)
        self.measuring = measuring

    def level(self, pid: str, level: int, at: float, voice_bit: bool | None = None) -> None:
        """One audio packet's RFC 6464 level (0 loudest .. 127 silence) and voice bit, at `at`.
        Absent packets (Opus DTX) are silence, like quiet ones."""
        person = self.people.get(pid)
        if person is None or not self._measured(person) or not person.audio_on:
            return
        if not person.present.on:
            return
        config = self.config
        voice = person.voice
        packet_s = config.packet_ms / 1000
        if voice.speaking and self._pause_ended(voice, at - voice.last_heard, inclusive=False):
            self._stop_speaking(person, at)
        if not voice.activity.hear(level, voice_bit, at):
            return
        if voice.speaking:
            # Soft sounds between syllables keep speech going but never lengthen a turn: it
            # ends with its last clear voice.
            voice.last_heard = at + packet_s
            if not voice.activity.soft:
                voice.last_voice_end = at + packet_s
            return
        voice.recent.append(at)
        while voice.recent and at - voice.recent[0] > config.attack_window_ms / 1000:
            voice.recent.popleft()
        # A soft rise leading into the first voice is the word's onset, under the noise's
        # reach: it counts toward the attack (a quiet voice over loud noise is marked sooner).
        rise = voice.activity.rise_at
        lead_s = 0.0 if rise is None else voice.recent[0] - rise
        if not 0 <= lead_s * 1000 <= config.voice.continue_ms:
            lead_s = 0.0
        if len(voice.recent) * config.packet_ms + lead_s * 1000 >= config.attack_ms:
            voice.speaking = True
            voice.start = voice.recent[0] - lead_s
            voice.last_voice_end = voice.last_heard = at + packet_s
            voice.recent.clear()

    def tick(self, now: float) -> None:
        """End speech whose pause has reached the hangover (no packet needs to arrive)."""
        for person in self.people.values():
            voice = person.voice
            if voice.speaking and self._pause_ended(voice, now - voice.last_heard, inclusive=True):
                self._stop_speaking(person, now)

    def _pause_ended(self, voice: VoiceState, pause_s: float, inclusive: bool) -> bool:
        """Whether a pause this long ends speech: it reached the hangover, with a faint
        voice's extra (judged only then: it sorts the voice's recent heights)."""
        hangover_ms = self.config.hangover_ms
        if pause_s * 1000 < hangover_ms:
            return False
        hangover_s = (hangover_ms + voice.activity.extra_hangover_ms) / 1000
        return pause_s >= hangover_s if inclusive else pause_s > hangover_s

    def observe(self, event: DomainEvent, at: float) -> None:
        """Take what matters from a domain event (rooms.model / rooms.controls)."""
        if isinstance(event, ParticipantJoined):
            self.join(event.participant.id, event.participant.full(), at)
        elif isinstance(event, controls.ParticipantAdmitted):
            self.join(event.participant.id, event.participant.full(), at)
        elif isinstance(event, ParticipantLeft) and event.admitted:
            self.leave(event.participant_id, at)
        elif isinstance(event, ParticipantReconnecting):
            self.leave(event.participant_id, at)  # time away is absence
        elif isinstance(event, ParticipantReconnected):
            self.join(event.participant.id, event.participant.public(), at)
        elif isinstance(event, controls.ParticipantRemoved):
            self.leave(event.target, at)
        elif isinstance(event, ParticipantUpdated) and event.participant.admitted:
            self._update(event.participant.id, event.participant.full(), at)
        elif isinstance(event, RoomChanged):
            person = self.people.get(event.target)
            if person is not None and person.room != event.room_id:
                self._stop_speaking(person, at)  # an utterance belongs to one room
                person.room = event.room_id
                if person.present.on:
                    leave_room(person, at)
                    enter_room(person, event.room_id, at)
        elif isinstance(event, controls.AudioForcedOff):
            person = self.people.get(event.target)
            if person is not None and person.present.on:
                person.muted_by_leader.set(True, at)
        elif isinstance(event, controls.Reaction):
            self._count(event.participant_id, "reactions")
        elif isinstance(event, controls.ChatMessage):
            # a private message is two events (sender's and recipient's copy): count one
            if isinstance(event.audience, Everyone) or event.audience == Only(event.sender):
                self._count(event.sender, "chats")
        elif isinstance(event, controls.HelpRequested):
            self._count(event.participant_id, "help_requests")
        elif isinstance(event, controls.EngagementOptOutChanged):
            self.opt_out(event.target, event.opted_out, at)
        elif isinstance(event, controls.EngagementSettingsChanged):
            self._apply_settings(event.changes, at)

    def _apply_settings(self, changes: dict[str, float | bool], at: float) -> None:
        if "measuring" in changes:
            self.set_measuring(bool(changes["measuring"]), at)
        tuned = {
            "enabled": changes.get("alerts_enabled"),
            "dominance_share_pct": changes.get("dominance_share_pct"),
            "silence_min": changes.get("silence_min"),
        }
        self.configure_alerts(**{k: v for k, v in tuned.items() if v is not None})

    def settings(self) -> dict[str, Any]:
        return {"measuring": self.measuring, **asdict(self.alert_settings)}

    def _count(self, pid: str, what: str) -> None:
        person = self.people.get(pid)
        if person is not None:
            setattr(person, what, getattr(person, what) + 1)

    def _update(self, pid: str, public: dict[str, Any], at: float) -> None:
        person = self.people.get(pid)
        if person is None:
            return
        audio_on, hand = bool(public.get("audio", True)), bool(public.get("hand", False))
        if person.audio_on and not audio_on:
            self._stop_speaking(person, at)  # muted time never counts as speaking
        if audio_on:
            person.muted_by_leader.set(False, at)
        person.audio_on = audio_on
        person.muted.set(person.present.on and not audio_on, at)
        person.video.set(person.present.on and bool(public.get("video", True)), at)
        if hand and not person.hand:
            person.hands += 1
        person.hand = hand
        person.role = str(public.get("role", person.role))
        person.name = str(public.get("name", person.name))

    def _measured(self, person: PersonRecord) -> bool:
        return self.measuring and not person.opted_out

    def _stop_speaking(self, person: PersonRecord, at: float) -> None:
        voice = person.voice
        voice.recent.clear()
        if not voice.speaking:
            return
        voice.speaking = False
        end = min(voice.last_voice_end, at)
        fade_end = voice.activity.fade_end()
        if fade_end is not None:
            end = min(end, fade_end)
        if (end - voice.start) * 1000 >= self.config.min_turn_ms:
            person.utterances.append(Utterance(voice.start, end, person.room))

    # -- outputs --------------------------------------------------------------------------

    def speaking_now(self) -> set[str]:
        return {pid for pid, p in self.people.items() if p.voice.speaking}

    def _utterances(self, person: PersonRecord) -> list[Utterance]:
        """Finished utterances and the one in progress (up to its last voice)."""
        voice = person.voice
        if not voice.speaking:
            return person.utterances
        return [*person.utterances, Utterance(voice.start, voice.last_voice_end, person.room)]

    def metrics(self, now: float) -> dict[str, Any]:
        """Per participant, per room and for the session, at `now` (plain JSON values)."""
        recent_from = now - self.config.recent_window_ms / 1000
        speech = {pid: self._utterances(p) for pid, p in self.people.items()}
        measured = {pid for pid, p in self.people.items() if self._measured(p)}
        totals = {pid: sum(u.duration for u in speech[pid]) for pid in measured}
        recent = {pid: clipped_total(speech[pid], recent_from, now) for pid in measured}
        all_talk, recent_talk = sum(totals.values()), sum(recent.values())
        floor = floor_dynamics(speech, self.config.interruption_takeover_ms / 1000)
        participants: dict[str, Any] = {}
        for pid, person in self.people.items():
            entry: dict[str, Any] = {
                "name": person.name,
                "role": person.role,
                "room": person.room,
                "present": person.present.on,
                "measured": pid in measured,
                "joined_at": person.first_joined,
                "left_at": None if person.present.on else person.last_left,
                "present_s": _s(person.present.total(now)),
                "camera_on_s": _s(person.video.total(now)),
                "muted_s": _s(person.muted.total(now)),
                "hand_raises": person.hands,
                "chat_messages": person.chats,
                "reactions": person.reactions,
                "help_requests": person.help_requests,
            }
            if pid in measured:
                turns = speech[pid]
                entry.update(
                    speaking=person.voice.speaking,
                    noisy_microphone=person.voice.activity.noisy,
                    speaking_s=_s(totals[pid]),
                    share_pct=_pct(totals[pid], all_talk),
                    recent_share_pct=_pct(recent[pid], recent_talk),
                    turns=len(turns),
                    mean_turn_s=_s(totals[pid] / len(turns)) if turns else None,
                    longest_turn_s=_s(max((u.duration for u in turns), default=0.0)),
                    overlap_s=_s(floor.overlap_s.get(pid, 0.0)),
                    overlaps=floor.overlaps.get(pid, 0),
                    interruptions=floor.interruptions.get(pid, 0),
                    interrupted=floor.interrupted.get(pid, 0),
                    current_silence_s=_s(self._current_silence(person, now)),
                    longest_silence_s=_s(self._longest_silence(person, now)),
                )
            participants[pid] = entry
        # Balance is the group's: participants present now (leaders' talk is their own job).
        present_measured = [
            pid
            for pid in measured
            if self.people[pid].present.on and self.people[pid].role == "participant"
        ]
        return {
            "measuring": self.measuring,
            "participants": participants,
            "rooms": self._rooms(speech, measured),
            "session": {
                "speaking_s": _s(all_talk),
                "balance_index": balance_index([totals[pid] for pid in present_measured]),
                "recent_balance_index": balance_index([recent[pid] for pid in present_measured]),
                "follows": floor.follows,
            },
        }

    def _rooms(self, speech: dict[str, list[Utterance]], measured: set[str]) -> dict[str, Any]:
        talk: dict[str, dict[str, float]] = {}
        turns: dict[str, int] = {}
        for pid in measured:
            for u in speech[pid]:
                talk.setdefault(u.room, {}).setdefault(pid, 0.0)
                talk[u.room][pid] += u.duration
                turns[u.room] = turns.get(u.room, 0) + 1
        return {
            room: {
                "speaking_s": _s(sum(by_person.values())),
                "turns": turns[room],
                "balance_index": balance_index(list(by_person.values())),
            }
            for room, by_person in talk.items()
        }

    def _current_silence(self, person: PersonRecord, now: float) -> float:
        since = person.present.since()
        if since is None or person.voice.speaking:
            return 0.0
        last_end = max((u.end for u in person.utterances), default=-math.inf)
        return now - max(since, last_end)

    def _longest_silence(self, person: PersonRecord, now: float) -> float:
        """The longest stretch present without speaking (from arrival, between turns, to now),
        leaving out time a leader had them muted."""
        longest = 0.0
        turns = self._utterances(person)
        for start, end in person.present.without(person.muted_by_leader):
            end = min(end, now)
            cursor = start
            for u in turns:
                if u.end <= start or u.start >= end:
                    continue
                longest = max(longest, u.start - cursor)
                cursor = max(cursor, u.end)
            longest = max(longest, end - cursor)
        return longest

    def utterances(self, pid: str) -> list[Utterance]:
        """A measured participant's turns so far (the one in progress included)."""
        person = self.people.get(pid)
        if person is None or not self._measured(person):
            return []
        return self._utterances(person)

    def attendance(self, pid: str, now: float) -> dict[str, Any]:
        """When they were present, and how long in each room (for the summary)."""
        person = self.people[pid]
        rooms: dict[str, float] = {}
        for room, start, end in person.room_spans:
            rooms[room] = rooms.get(room, 0.0) + max(0.0, min(end, now) - start)
        return {
            "spans": [
                [start, None if math.isinf(end) else end] for start, end in person.present.spans
            ],
            "rooms": {room: _s(seconds) for room, seconds in rooms.items()},
        }

    def alerts(self, now: float) -> dict[tuple[str, str], dict[str, Any]]:
        """The alert conditions that hold now, keyed (kind, participant id)."""
        settings = self.alert_settings
        if not settings.enabled or not self.measuring:
            return {}
        recent_from = now - self.config.recent_window_ms / 1000
        measured = {
            pid: p
            for pid, p in self.people.items()
            if self._measured(p) and p.present.on and p.role == "participant"
        }
        recent = {
            pid: clipped_total(self._utterances(p), recent_from, now) for pid, p in measured.items()
        }
        group_recent = sum(
            clipped_total(self._utterances(p), recent_from, now)
            for p in self.people.values()
            if self._measured(p)
        )
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for pid, person in measured.items():
            share = _pct(recent[pid], group_recent)
            if (
                not person.voice.activity.noisy  # their "speech" may be their microphone's noise
                and group_recent * 1000 >= settings.dominance_min_talk_ms
                and share is not None
                and share > settings.dominance_share_pct
            ):
                found[("dominating", pid)] = {"name": person.name, "share_pct": share}
            unmuted = max((end for _, end in person.muted_by_leader.spans), default=-math.inf)
            silence = min(self._current_silence(person, now), now - unmuted)
            if not person.muted_by_leader.on and silence >= settings.silence_min * 60:
                found[("silent", pid)] = {"name": person.name, "silent_s": _s(silence)}
        return found

    def configure_alerts(self, **changes: Any) -> AlertSettings:
        self.alert_settings = replace(self.alert_settings, **changes)
        return self.alert_settings


# -- small helpers --------------------------------------------------------------------------


def _s(seconds: float) -> float:
    return round(seconds, 3)


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole > 0 else None
