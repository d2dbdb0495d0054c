"""The periodic workers over every live session: active speakers, breakout timers, engagement,
connection quality and summaries. Each sends only what changed, except the once-a-second
engagement picture and the quality view for leaders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict

from redis.exceptions import RedisError

from rooms import breakouts, link_policy
from rooms.controls import continuity
from rooms.link_policy import CapAdvice, LinkInput
from server.live.effects import Effects
from server.live.fanout import Fanout
from server.live.registry import LiveSessions
from server.live.reports import engagement_report
from server.live.session import LiveSession
from server.store import StoreError

log = logging.getLogger(__name__)

SPEAKER_INTERVAL_S = 0.2
BREAKOUT_TICK_S = 0.25
ENGAGEMENT_SPEAKING_S = 0.1  # the speaking indicator reacts within about this
ENGAGEMENT_METRICS_S = 1.0
QUALITY_INTERVAL_S = 2.0
SUMMARY_FLUSH_S = 5.0
CONTINUITY_TICK_S = 1.0
ENGAGEMENT_ALERTS = frozenset({"dominating", "silent", "silent_poor_connection"})
QUALITY_ALERTS = frozenset({"connection_poor", "connection_lost"})


class Workers:
    def __init__(self, registry: LiveSessions, fanout: Fanout, effects: Effects) -> None:
        self.registry = registry
        self.fanout = fanout
        self.effects = effects

    async def run(self) -> AsyncIterator[None]:
        """All of them, for the app's cleanup context: started with the app, cancelled at its
        cleanup."""
        tasks = [
            asyncio.create_task(self.announce_speakers()),
            asyncio.create_task(self.run_breakout_timers()),
            asyncio.create_task(self.report_engagement()),
            asyncio.create_task(self.monitor_quality()),
            asyncio.create_task(self.flush_summaries()),
            asyncio.create_task(self.keep_places()),
        ]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _live(self) -> list[LiveSession]:
        return list(self.registry.sessions.values())

    async def announce_speakers(self) -> None:
        """Each room's `active_speaker` when it changes, to that room and to the leaders (their
        overview of the breakout rooms)."""
        while True:
            await asyncio.sleep(SPEAKER_INTERVAL_S)
            now = time.monotonic()
            for live in self._live():
                await self._announce_speakers(live, now)

    async def _announce_speakers(self, live: LiveSession, now: float) -> None:
        """One round: each room whose active speaker changed tells its media router (the
        speaker's tile at full size) and its audience."""
        live.router.set_spotlight(live.session.spotlight)  # re-plans only when it changed
        for room, speaker in list(live.speakers.items()):
            current = speaker.current(now)
            if current == live.announced_speakers.get(room):
                continue
            live.announced_speakers[room] = current
            live.router.set_speaker(room, current)
            admitted = live.session.admitted()
            audience = {p.id for p in admitted if p.room_id == room or p.role.leads}
            message = {"participant_id": current, "room": room}
            await self.fanout.to_each(live, audience, "active_speaker", message)

    async def run_breakout_timers(self) -> None:
        """Breakout timers and return countdowns (rooms.breakouts.tick)."""
        while True:
            await asyncio.sleep(BREAKOUT_TICK_S)
            for live in self._live():
                async with self.registry.lock(live.session.id):
                    events = breakouts.tick(live.session, self.registry.clock())
                    if events:
                        await self.effects.publish(live, events)

    async def report_engagement(self) -> None:
        """Who is speaking, to the leaders, as soon as it changes (checked every
        ENGAGEMENT_SPEAKING_S); the whole engagement picture every ENGAGEMENT_METRICS_S."""
        ticks_per_report = round(ENGAGEMENT_METRICS_S / ENGAGEMENT_SPEAKING_S)
        tick = 0
        behind = self.registry.behind
        while True:
            due = self.registry.clock() + ENGAGEMENT_SPEAKING_S
            await asyncio.sleep(ENGAGEMENT_SPEAKING_S)
            tick += 1
            now = self.registry.clock()
            # Woken late: the loop was busy and packets may be queued behind this check.
            behind.note(now - due, now)
            for live in self._live():
                live.engagement.tick(now - behind.value(now))
                speaking = frozenset(live.engagement.speaking_now())
                if speaking != live.announced_speaking:
                    live.announced_speaking = speaking
                    message = {"participant_ids": sorted(speaking)}
                    await self.fanout.to_leaders(live, "speaking", message)
                if tick % ticks_per_report == 0:
                    report = engagement_report(live, now)
                    holding = {(a["kind"], a["participant_id"]) for a in report["alerts"]}
                    live.log_alerts(ENGAGEMENT_ALERTS, holding, now)
                    await self.fanout.to_leaders(live, "engagement", report)

    async def monitor_quality(self) -> None:
        """Sample every link, score it, and act on it (rooms.link_policy); long trouble raises
        an alert for the leaders."""
        while True:
            await asyncio.sleep(QUALITY_INTERVAL_S)
            for live in self._live():
                now = self.registry.clock()
                for pid in list(live.router.participants):
                    up, down = await live.router.link_samples(pid, now)
                    live.quality.add(pid, up, down)
                await self._act_on_quality(live, now)

    async def _act_on_quality(self, live: LiveSession, now: float) -> None:
        session, quality = live.session, live.quality
        links = {
            pid: LinkInput(
                session.participants[pid].room_id,
                quality.level(pid, "up"),
                quality.level(pid, "down"),
            )
            for pid in list(live.router.participants)
            if pid in session.participants
        }
        wanted = link_policy.decide(links, session.spotlight, live.announced_speakers)
        for change in link_policy.changes(live.link_policy, wanted):
            pid = change.participant_id
            if change.tell is not None:
                up, down = change.tell
                await self.fanout.to(live, pid, "my_quality", {"up": up, "down": down})
            if change.cap is not None:
                advice = {"cap": change.cap, **(asdict(CapAdvice()) if change.cap else {})}
                await self.fanout.to(live, pid, "quality_advice", advice)
            if change.hold_video:
                kept = change.kept_video
                live.router.hold_video(pid, set(kept) if kept is not None else None)
        live.link_policy = wanted
        names = {pid: p.display_name for pid, p in session.participants.items()}
        view = quality.view(now)
        await self.fanout.to_leaders(
            live,
            "quality",
            {"participants": {pid: {"name": names.get(pid), **v} for pid, v in view.items()}},
        )
        alerts = quality.alerts(now)
        for kind, pid in sorted(set(alerts) - live.announced_quality_alerts):
            detail = {
                "kind": kind,
                "participant_id": pid,
                "name": names.get(pid),
                **alerts[(kind, pid)],
            }
            await self.fanout.to_leaders(live, "quality_alert", detail)
        live.announced_quality_alerts = frozenset(alerts)
        live.log_alerts(QUALITY_ALERTS, set(alerts), now)

    async def keep_places(self) -> None:
        """Places kept for people whose connection dropped lapse after the reconnect grace;
        a session everyone has left is finished (its summary final) after a while."""
        while True:
            await asyncio.sleep(CONTINUITY_TICK_S)
            await self.lapse(self.registry.clock())

    async def lapse(self, now: float) -> None:
        settings = self.registry.settings
        for live in self._live():
            async with self.registry.lock(live.session.id):
                for pid in continuity.lapsed(live.session, now, settings.reconnect_grace_s):
                    await self.effects.depart(live.session.id, pid)
                empty_since = live.empty_since
                if (
                    empty_since is not None
                    and not live.session.participants
                    and now - empty_since >= settings.empty_session_final_s
                ):
                    await self.registry.finish(live, final=True)

    async def flush_summaries(self) -> None:
        """Every running session's summary goes to the store, so nothing measured is lost if
        the server stops mid-session."""
        while True:
            await asyncio.sleep(SUMMARY_FLUSH_S)
            try:
                await self.flush()
            except (StoreError, RedisError, OSError) as exc:
                # the store is away (a Redis restart): rooms run on, the next flush saves all
                log.warning("summary flush failed: %s", exc)

    async def flush(self) -> None:
        for live in self._live():
            await self.registry.save_summary(live, final=False)
            await self.registry.save_state(live)
