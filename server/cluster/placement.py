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
    load_pps: float  # packets forwarded per second, over the last heartbeat interval
    capacity_pps: float  # what it carries before forwarding degrades (--capacity-pps)
    sessions: int  # running sessions
    draining: bool = False  # stopping: takes no session

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> NodeInfo:
        return cls(**json.loads(raw))

    @property
    def full(self) -> bool:
        return self.load_pps >= self.capacity_pps


def choose_node(nodes: Sequence[NodeInfo]) -> NodeInfo | None:
    """The least-loaded node that takes sessions (load against capacity, then fewer sessions,
    then the id, so every node picks the same one); None when every node is full or
    draining."""
    open_nodes = [n for n in nodes if not n.draining and not n.full and n.capacity_pps > 0]
    if not open_nodes:
        return None
    return min(open_nodes, key=lambda n: (n.load_pps / n.capacity_pps, n.sessions, n.node_id))
