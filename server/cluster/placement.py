"""Which node a session without a live owner goes to: a pure choice over the nodes' last
heartbeats, so it can be tested without Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class NodeInfo:
    """What a node says of itself in each heartbeat (the value of its lease key)."""

    node_id: str
    url: str  # where pages and sockets reach it, e.g. http://10.0.0.5:8080
    ice_address: str  # the address its ICE candidates announce
    load_pps: float  # packets forwarded per second, over the load window (server/cluster/load.py)
    cpu_cores: float  # its process's CPU over the same window (1.0: one core)
    capacity_cores: float  # takes no new session from this CPU on (--capacity-cores)
    sessions: int  # running sessions
    draining: bool = False  # stopping: takes no session

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> NodeInfo | None:
        """None for what this version cannot read: a node of another version, mid-upgrade."""
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError):
            return None

    @property
    def full(self) -> bool:
        return self.cpu_cores >= self.capacity_cores


def choose_node(nodes: Sequence[NodeInfo]) -> NodeInfo | None:
    """The least-loaded node that takes sessions (CPU against capacity, then fewer sessions,
    then the id, so every node picks the same one); None when every node is full or
    draining."""
    open_nodes = [n for n in nodes if not n.draining and not n.full]
    if not open_nodes:
        return None
    return min(open_nodes, key=lambda n: (n.cpu_cores / n.capacity_cores, n.sessions, n.node_id))
