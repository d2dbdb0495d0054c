"""One running session: the domain session, its media router and what is measured live."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rooms.engagement import Engagement
from rooms.link_policy import LinkPolicy
from rooms.model import MAIN_ROOM, Session
from rooms.quality import QualityMonitor
from rooms.speaker import ActiveSpeaker
from server.media.router import MediaRouter
from server.store import SessionRecord


@dataclass
class LiveSession:
    session: Session
    router: MediaRouter
    record: SessionRecord
    speakers: dict[str, ActiveSpeaker] = field(default_factory=dict)  # per room
    sids: dict[str, str] = field(default_factory=dict)  # participant id -> socket id
    announced_speakers: dict[str, str | None] = field(default_factory=dict)  # per room
    engagement: Engagement = field(default_factory=Engagement)
    quality: QualityMonitor = field(default_factory=QualityMonitor)
    link_policy: dict[str, LinkPolicy] = field(default_factory=dict)  # as last applied
    announced_quality_alerts: frozenset[tuple[str, str]] = frozenset()
    announced_speaking: frozenset[str] = frozenset()  # who the leaders were last told speaks
    # For the summary: who came with which personal invite, who led (with credentials), and
    # every alert raised (engagement and quality), with when.
    invite_ids: dict[str, str] = field(default_factory=dict)
    leaders: dict[str, dict[str, str]] = field(default_factory=dict)
    alert_log: list[dict[str, Any]] = field(default_factory=list)
    logged_alerts: set[tuple[str, str]] = field(default_factory=set)
    empty_since: float | None = None  # everyone has left: final after a while (settings)
    # The summary of what ran before this segment (before a restart, or before everyone left
    # long ago): this segment's summary is merged into it (rooms.summary_merge).
    summary_base: dict[str, Any] | None = None
    restored: bool = False  # brought back from the store at start-up

    def log_alerts(self, source: frozenset[str], holding: set[tuple[str, str]], at: float) -> None:
        """Remember each alert once per time it starts to hold. `source` is every kind the
        caller can raise, so its alerts that stopped holding are forgotten."""
        for kind, pid in sorted(holding - self.logged_alerts):
            self.alert_log.append({"kind": kind, "participant_id": pid, "at": at})
        stopped = {key for key in self.logged_alerts if key[0] in source} - holding
        self.logged_alerts = (self.logged_alerts - stopped) | holding

    def forget_speaker(self, pid: str) -> None:
        for speaker in self.speakers.values():
            speaker.remove(pid)

    def room(self, room_id: str = MAIN_ROOM) -> str:
        return f"{self.session.id}/{room_id}"

    def is_connected(self, pid: str | None, sid: str) -> bool:
        """This socket carries this participant (joined, not left, removed or ended)."""
        return pid is not None and self.sids.get(pid) == sid
