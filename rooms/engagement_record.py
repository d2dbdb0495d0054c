"""What the engagement engine keeps of one person: presence, mute and camera as intervals,
their turns, their voice activity, their participation counts, the rooms they were in."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rooms.model import MAIN_ROOM
from rooms.talk import Intervals, Utterance
from rooms.voice_activity import VoiceActivity


@dataclass
class VoiceState:
    """Voice activity of one person: attack, then speech until a pause reaches the hangover."""

    speaking: bool = False
    start: float = 0.0
    last_voice_end: float = -math.inf  # where the turn ends if no more voice comes
    last_heard: float = -math.inf  # the last voice, soft sounds included: the hangover's start
    recent: deque[float] = field(default_factory=deque)  # voiced packet times, before onset
    activity: VoiceActivity = field(default_factory=VoiceActivity)  # which packets are voice


@dataclass
class PersonRecord:
    name: str
    role: str
    room: str = MAIN_ROOM
    audio_on: bool = True
    hand: bool = False
    opted_out: bool = False
    present: Intervals = field(default_factory=Intervals)
    video: Intervals = field(default_factory=Intervals)
    muted: Intervals = field(default_factory=Intervals)
    # Muted by a leader, until they unmute: not their silence (alerts and the summary alike).
    muted_by_leader: Intervals = field(default_factory=Intervals)
    first_joined: float | None = None
    last_left: float | None = None
    utterances: list[Utterance] = field(default_factory=list)
    room_spans: list[list[Any]] = field(default_factory=list)  # [room, start, end or inf]
    voice: VoiceState = field(default_factory=VoiceState)
    hands: int = 0
    chats: int = 0
    reactions: int = 0
    help_requests: int = 0


def enter_room(person: PersonRecord, room: str, at: float) -> None:
    person.room_spans.append([room, at, math.inf])


def leave_room(person: PersonRecord, at: float) -> None:
    if person.room_spans and math.isinf(person.room_spans[-1][2]):
        person.room_spans[-1][2] = at
