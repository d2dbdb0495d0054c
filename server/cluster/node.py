"""This process as a node of the cluster: its heartbeat (its own lease, its sessions' leases,
taking over sessions whose owner died), where a joining session lives, and the drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from rooms.errors import Refusal
from server.cluster.directory import Directory
from server.cluster.load import LoadMeter, Sample
from server.cluster.placement import NodeInfo, choose_node
from server.config import Settings
from server.live.fanout import DISCONNECT_GRACE_S
from server.live.registry import LiveSessions
from server.live.session import LiveSession
from server.metrics import ClusterEvents
from server.readiness import Readiness

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.5
LOAD_WINDOW_S = 6.0  # load and CPU over about the last four heartbeats
LEASE_MS = 5_000  # a dead node's keys are gone within this of its last heartbeat
CLAIM_ATTEMPTS = 3  # claims lost to another node's in the same instant, before giving up
MOVE_MARGIN_S = 0.5

AT_CAPACITY = "The service is at capacity: no server can take another group now. Try again soon."


def node_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class ClusterNode:
    def __init__(
        self,
        settings: Settings,
        registry: LiveSessions,
        readiness: Readiness,
        events: ClusterEvents,
    ) -> None:
        assert settings.redis_url is not None
        self.settings = settings
        self.registry = registry
        self.readiness = readiness
        self.events = events  # counted for /metrics
        self.directory = Directory(settings.redis_url)
        self.node_id = settings.node_id
        self.url = node_url(settings)
        self.peers: list[NodeInfo] = []  # the other live nodes, as of the last heartbeat
        self._owned: set[str] = set()  # sessions renewed at the last heartbeat
        self._load = LoadMeter(LOAD_WINDOW_S)  # sampled at each heartbeat
        self._redis_down = False

    # -- the heartbeat --------------------------------------------------------------------

    async def run(self, app: web.Application) -> AsyncIterator[None]:
        """For the app's cleanup context: registered before serving, deregistered (and its
        sessions released, their state saved by then) at the end."""
        await self.beat()
        task = asyncio.create_task(self._beat_forever())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(RedisError, OSError):
            for session_id in self._owned | set(self.registry.sessions):
                await self.directory.release(session_id, self.node_id)
            await self.directory.deregister(self.node_id)
        await self.directory.close()

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.beat()
            except (RedisError, OSError) as exc:
                # Rooms run on without Redis; the next heartbeat registers and claims again.
                if not self._redis_down:
                    log.warning("cluster heartbeat: Redis unreachable (%s); retrying", exc)
                self._redis_down = True
            else:
                if self._redis_down:
                    log.warning("cluster heartbeat: Redis reachable again")
                self._redis_down = False

    def _sample(self) -> Sample:
        return Sample(time.monotonic(), time.process_time(), self.registry.stats.packets_out)

    def info(self) -> NodeInfo:
        load = self._load.add(self._sample())
        settings = self.settings
        ice = settings.media.announced_ip or next(iter(settings.ice_host_addresses), settings.host)
        return NodeInfo(
            self.node_id,
            self.url,
            ice,
            round(load.packets_per_s, 1),
            round(load.cpu_cores, 3),
            settings.capacity_cores,
            len(self.registry.sessions),
            self.readiness.draining,
        )

    async def beat(self) -> None:
        """Our lease first, then our sessions': a node's key never outlives its sessions'
        keys, so a session whose owner key is gone never points at a node still listed."""
        await self.directory.register(self.info(), LEASE_MS)
        owned = set()
        for session_id in list(self.registry.sessions):
            if await self.directory.renew(session_id, self.node_id, LEASE_MS):
                owned.add(session_id)
            else:
                await self._let_go(session_id)
        self._owned = owned
        nodes = await self.directory.nodes()
        self.peers = [n for n in nodes if n.node_id != self.node_id]
        if not self.readiness.draining:
            await self._adopt_orphans(nodes)

    async def _adopt_orphans(self, nodes: list[NodeInfo]) -> None:
        """Sessions still running (a saved live state) whose owner died: the node that the
        placement picks claims each and restores it, before its people are back."""
        live_ids = {n.node_id for n in nodes}
        chosen = choose_node(nodes)
        for session_id in await self.directory.running_sessions():
            if session_id in self.registry.sessions:
                continue
            owner = await self.directory.owner(session_id)
            if owner is not None and owner in live_ids and owner != self.node_id:
                continue
            if owner == self.node_id or (
                chosen is not None
                and chosen.node_id == self.node_id
                and await self.directory.claim(session_id, self.node_id, LEASE_MS, owner)
            ):
                async with self.registry.lock(session_id):
                    await self._open_here(session_id, taken_over=owner != self.node_id)

    async def _open_here(self, session_id: str, *, taken_over: bool) -> None:
        """Restore a running session here (the caller holds its lock); `taken_over`: its
        owner died, counted as a failover."""
        store = self.registry.store()
        if session_id in self.registry.sessions:
            return
        record = await store.get_session(session_id)
        if record is None or record.ended_at is not None:
            await store.delete_live_state(session_id)
            await self.directory.release(session_id, self.node_id)
            return
        live = await self.registry.open(record)
        if live.restored:
            log.info("session %s taken over by node %s", session_id, self.node_id)
            self.events.failovers += int(taken_over)

    async def _let_go(self, session_id: str) -> None:
        """Another node owns the session now (we were cut off from Redis past our lease)."""
        async with self.registry.lock(session_id):
            live = self.registry.get(session_id)
            if live is None:
                return
            await self.registry.let_go(live)
        log.warning("session %s is owned by another node now; its people move there", session_id)
        owner = await self.directory.owner(session_id)
        urls = {n.node_id: n.url for n in await self.directory.nodes()}
        await self._tell_to_move(live, urls.get(owner or ""))

    async def _tell_to_move(self, live: LiveSession, url: str | None) -> None:
        """Each socket of the session is told where to go, then closed: a client that did not
        follow rejoins here and is redirected."""
        fanout = self.registry.fanout
        for sid in list(live.sids.values()):
            if url is not None:
                await fanout.sio.emit("move", {"url": url}, to=sid)
            fanout.close_later(sid)

    # -- joins ----------------------------------------------------------------------------

    async def locate(self, session_id: str) -> None:
        """Returns when the session is (now) ours; else refuses with where it lives
        (`elsewhere`, with its `url`) or `at_capacity` when no node can take it. The caller
        holds the session's lock (a join)."""
        for _ in range(CLAIM_ATTEMPTS):
            owner = await self.directory.owner(session_id)
            if owner == self.node_id:
                return
            if owner is None and session_id in self.registry.sessions:
                if await self.directory.claim(session_id, self.node_id, LEASE_MS, None):
                    return  # still running here; its key was lost with a Redis restart
                continue
            nodes = await self.directory.nodes()
            urls = {n.node_id: n.url for n in nodes}
            if owner is not None and owner in urls:
                raise _elsewhere(urls[owner])
            chosen = choose_node(nodes)
            if chosen is None:
                self.events.joins_refused_capacity += 1
                raise Refusal("at_capacity", AT_CAPACITY)
            if await self.directory.claim(session_id, chosen.node_id, LEASE_MS, owner):
                if chosen.node_id != self.node_id:
                    raise _elsewhere(chosen.url)
                if await self.directory.is_running(session_id):  # its owner died: take it over
                    await self._open_here(session_id, taken_over=True)
                return
        raise Refusal("moving", "This session is moving to another server; try again.")

    async def claimed(self, session_id: str) -> bool:
        """Whether a node owns the session (it runs there, or a join there is opening it)."""
        return await self.directory.owner(session_id) is not None

    async def owner_url(self, session_id: str) -> str | None:
        """The URL of the live node running the session, when that is not this one (a look
        only: nothing is claimed)."""
        owner = await self.directory.owner(session_id)
        if owner is None or owner == self.node_id:
            return None
        urls = {n.node_id: n.url for n in await self.directory.nodes()}
        return urls.get(owner)

    async def peer_urls(self) -> list[str]:
        """Where a client goes when this node stops answering (the join reply carries it)."""
        nodes = await self.directory.nodes()
        return sorted(n.url for n in nodes if n.node_id != self.node_id and not n.draining)

    # -- the drain ------------------------------------------------------------------------

    async def drain(self, app: web.Application) -> None:
        """On SIGTERM (the app's on_shutdown): take no new session, hand each running one to
        the least-loaded other node (state and summary saved first), tell its people where
        to go and close their sockets, all within --drain-timeout-s."""
        self.readiness.draining = True
        moved: list[str] = []
        try:
            async with asyncio.timeout(self.settings.drain_timeout_s):
                await self.beat()  # others see us draining from now on
                for live in list(self.registry.sessions.values()):
                    moved += await self._hand_over(live)
                if moved:  # the move messages go out and the sockets close meanwhile
                    await asyncio.sleep(DISCONNECT_GRACE_S + MOVE_MARGIN_S)
        except (RedisError, OSError) as exc:
            log.warning("drain: Redis unreachable (%s); sessions are kept for a restart", exc)
        except TimeoutError:
            log.warning("drain: not done in %s s", self.settings.drain_timeout_s)
        log.info("drained node %s: %d connections moved", self.node_id, len(moved))

    async def _hand_over(self, live: LiveSession) -> list[str]:
        target = choose_node(self.peers)
        if target is None:
            return []  # nowhere to go: kept as it is for this node's (or another's) restart
        session_id = live.session.id
        async with self.registry.lock(session_id):
            if self.registry.get(session_id) is not live:
                return []
            await self.registry.finish(live, final=False)
            await self.directory.claim(session_id, target.node_id, LEASE_MS, self.node_id)
        log.info("session %s handed over to node %s", session_id, target.node_id)
        sids = list(live.sids.values())
        await self._tell_to_move(live, target.url)
        return sids


def _elsewhere(url: str) -> Refusal:
    return Refusal("elsewhere", "This session runs on another server.", {"url": url})
