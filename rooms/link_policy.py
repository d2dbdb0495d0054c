"""What the server does about weak links, decided from quality levels alone: each person hears
of their own level; a publisher whose upstream is poor or lost is asked to send less video; a
subscriber whose downstream is poor keeps only the video that matters (the spotlight and their
room's active speaker) and all the sound. Pure: the server applies the changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rooms.quality import Level


@dataclass(frozen=True)
class CapAdvice:
    """Asked of a publisher whose upstream is poor."""

    max_bitrate_kbps: int = 250
    max_fps: int = 10


@dataclass(frozen=True)
class LinkInput:
    """One admitted participant as the policy sees them."""

    room_id: str
    up: Level | None
    down: Level | None


@dataclass(frozen=True)
class LinkPolicy:
    """What one participant should have now."""

    told: tuple[str | None, str | None] | None  # (up, down) levels they are told; None: never
    capped: bool  # asked to send less video
    kept_video: frozenset[str] | None  # None: every video; else only these publishers'


def decide(
    links: Mapping[str, LinkInput],
    spotlight: str | None,
    speakers: Mapping[str, str | None],
) -> dict[str, LinkPolicy]:
    """The policy for each participant, from their levels, the spotlight and each room's
    active speaker."""
    decided = {}
    for pid, link in links.items():
        kept = None
        if link.down is Level.POOR:
            speaker = speakers.get(link.room_id)
            kept = frozenset(p for p in (spotlight, speaker) if p is not None)
        decided[pid] = LinkPolicy(
            told=(_value(link.up), _value(link.down)),
            capped=link.up in (Level.POOR, Level.LOST),
            kept_video=kept,
        )
    return decided


@dataclass(frozen=True)
class LinkChange:
    """What to do for one participant so that what they have matches the policy."""

    participant_id: str
    tell: tuple[str | None, str | None] | None = None  # send them their levels
    cap: bool | None = None  # ask them to send less (True) or as usual (False)
    hold_video: bool = False  # apply `kept_video`
    kept_video: frozenset[str] | None = None


def changes(
    applied: Mapping[str, LinkPolicy], wanted: Mapping[str, LinkPolicy]
) -> list[LinkChange]:
    """Only what differs from what was applied, in participant order. Someone new is told
    their levels at once (even when there are none yet), is uncapped and has every video."""
    out = []
    for pid, want in wanted.items():
        have = applied.get(pid, _UNTOLD)
        change = LinkChange(
            pid,
            tell=want.told if want.told != have.told else None,
            cap=want.capped if want.capped != have.capped else None,
            hold_video=want.kept_video != have.kept_video,
            kept_video=want.kept_video,
        )
        if change.tell is not None or change.cap is not None or change.hold_video:
            out.append(change)
    return out


_UNTOLD = LinkPolicy(told=None, capped=False, kept_video=None)


def _value(level: Level | None) -> str | None:
    return level.value if level is not None else None
