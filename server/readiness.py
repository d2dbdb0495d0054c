"""Readiness: whether a load balancer should send this process new work (`GET /readyz`).

Liveness (`/healthz`) only says the process answers; readiness also needs what the work needs:
each named probe (the store, and whatever else registers one, e.g. the cluster's Redis) must
answer within PROBE_TIMEOUT_S, and the process must not be draining. `draining` is set by
whatever stops the process (on SIGTERM): it finishes what runs but takes nothing new."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

PROBE_TIMEOUT_S = 2.0  # a probe slower than this counts as unreachable

Probe = Callable[[], Awaitable[object]]  # returns when reachable, raises otherwise


@dataclass
class Readiness:
    draining: bool = False
    probes: dict[str, Probe] = field(default_factory=dict)  # name -> probe

    async def report(self) -> dict[str, Any]:
        """`{"ready", "draining", "reachable": {name: bool}}`, the probes run concurrently."""
        names = list(self.probes)
        answers = await asyncio.gather(*(_reachable(self.probes[n]) for n in names))
        reachable = dict(zip(names, answers, strict=True))
        return {
            "ready": not self.draining and all(answers),
            "draining": self.draining,
            "reachable": reachable,
        }


async def _reachable(probe: Probe) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await probe()
    except Exception:  # any failure of any backend (OSError, RedisError, sqlite3.Error, ...)
        return False
    return True
