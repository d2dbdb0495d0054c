"""A bot in a cluster (docs/cluster.md): its join is redirected to the node that runs the
session; a node that stops answering, or tells it to move (a drain), is left for another node,
where the bot resumes as itself."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import socketio

from server.bot.errors import BotError

if TYPE_CHECKING:
    from server.bot.client import Bot

log = logging.getLogger(__name__)

REDIRECTS = 4
FAILOVER_AFTER_S = 2.0  # a node that stops answering this long is left for the others
RELOCATE_ROUNDS = 30  # each tries every known node, then pauses
RELOCATE_PAUSE_S = 1.0


class Relocation:
    """The bot's moves between nodes: at most one under way; `moves` counts those done."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.moves = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def under_way(self) -> bool:
        return self._task is not None and not self._task.done()

    def after_drop(self) -> None:
        """The socket dropped: unless it is back within FAILOVER_AFTER_S, try the other nodes
        the last join named."""
        if self.bot.nodes and not self.under_way:
            self._task = asyncio.create_task(self._relocate([], FAILOVER_AFTER_S))

    def follow(self, url: str) -> None:
        """The node is draining (or lost the session): the session goes on at `url`."""
        if not self.under_way:
            self._task = asyncio.create_task(self._relocate([url], 0.0))

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def join_where_it_runs(self) -> None:
        """Join; a cluster's node that does not run the session names the one that does."""
        bot = self.bot
        for _ in range(REDIRECTS):
            try:
                await bot.join()
                return
            except BotError as exc:
                if exc.code == "elsewhere" and exc.url:
                    await bot.switch_to(exc.url)
                elif exc.code == "moving":
                    await asyncio.sleep(RELOCATE_PAUSE_S)
                else:
                    raise
        raise BotError(f"{bot.name}: redirected more than {REDIRECTS} times")

    async def _relocate(self, first: list[str], wait_s: float) -> None:
        """Reach the session's node again and resume there: `first`, then the other nodes the
        last join named, then this one; round after round while the session finds a new
        owner (a dead owner's lease runs out within seconds)."""
        bot = self.bot
        await asyncio.sleep(wait_s)
        if not first and bot.sio.connected:
            return  # this node is back
        for _ in range(RELOCATE_ROUNDS):
            for origin in dict.fromkeys([*first, *bot.nodes, bot.origin]):
                if bot.closed:
                    return
                try:
                    await bot.switch_to(origin)
                    await self.join_where_it_runs()
                    await bot.renegotiate()
                except (BotError, socketio.exceptions.SocketIOError) as exc:
                    log.info("%s: not at %s yet: %s", bot.name, origin, exc)
                    continue
                bot.resumes += 1
                self.moves += 1
                return
            first = []
            await asyncio.sleep(RELOCATE_PAUSE_S)
        log.warning("%s: no node of the cluster took the session back", bot.name)
