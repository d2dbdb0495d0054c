"""Limits that keep one client from growing the server's state or the store without bound:
joins per token and per address, sign-ins per address and per account, and the audit log's
write rate (with one counted row for what it refused). Every limit forgets idle keys."""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace

from server.store import AuditEntry, Store

JOINS_PER_TOKEN = 40  # a general link shared by a full group, each rejoining a few times
JOINS_PER_ADDRESS = 20  # a clinic's NAT may carry several people
JOIN_WINDOW_S = 60.0
AUDIT_ROWS_PER_CONNECTION = 60  # per minute; the rest is one row "N more refused"
AUDIT_WINDOW_S = 60.0
MAX_KEYS = 100_000  # past this, the oldest keys go first


class SlidingLimit:
    """At most `per_window` events per key in any `window_s`; keys idle for a window go."""

    def __init__(self, per_window: int, window_s: float) -> None:
        self.per_window, self.window_s = per_window, window_s
        self._times: dict[str, deque[float]] = {}
        self._swept_at = 0.0

    def allow(self, key: str, now: float) -> bool:
        self._sweep(now)
        times = self._times.setdefault(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) >= self.per_window:
            return False
        times.append(now)
        return True

    def keys(self) -> Iterator[str]:
        return iter(self._times)

    def _sweep(self, now: float) -> None:
        if now - self._swept_at < self.window_s and len(self._times) < MAX_KEYS:
            return
        self._swept_at = now
        self._times = {k: t for k, t in self._times.items() if t and now - t[-1] < self.window_s}
        while len(self._times) >= MAX_KEYS:
            del self._times[next(iter(self._times))]


class AuditCap:
    """Admits at most `per_window` audit rows per key; counts the ones it refused, so the
    next admitted row can be followed by one "N more refused" row."""

    def __init__(
        self, per_window: int = AUDIT_ROWS_PER_CONNECTION, window_s: float = AUDIT_WINDOW_S
    ) -> None:
        self._limit = SlidingLimit(per_window, window_s)
        self._refused: dict[str, int] = {}

    def admit(self, key: str, now: float) -> tuple[bool, int]:
        """(write this row?, how many were refused since the last one written)."""
        if not self._limit.allow(key, now):
            self._refused[key] = self._refused.get(key, 0) + 1
            return False, 0
        return True, self._refused.pop(key, 0)

    async def write(self, store: Store, entry: AuditEntry) -> None:
        """Append the entry if its actor is under the cap; after it, one "rate_limited" row
        with detail {"refused": N} for the entries refused since the last one written."""
        write, refused = self.admit(f"{entry.session_id}/{entry.actor_id}", entry.at)
        if not write:
            return
        await store.append_audit(entry)
        if refused:
            await store.append_audit(
                replace(
                    entry,
                    action="rate_limited",
                    target_id=None,
                    detail={"refused": refused},
                    outcome="invalid",
                )
            )


class JoinLimits:
    def __init__(self) -> None:
        self.by_token = SlidingLimit(JOINS_PER_TOKEN, JOIN_WINDOW_S)
        self.by_address = SlidingLimit(JOINS_PER_ADDRESS, JOIN_WINDOW_S)

    def allow(self, token_key: str, address: str, now: float) -> bool:
        return self.by_address.allow(address, now) and self.by_token.allow(token_key, now)


def client_address(remote: str | None, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
    address in X-Forwarded-For that is not itself a trusted proxy."""
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in networks)

    address = remote or "?"
    if not networks or not is_trusted(address) or not forwarded_for:
        return address
    for hop in reversed(forwarded_for.split(",")):
        address = hop.strip() or address
        if not is_trusted(address):
            break
    return address
