"""The placement choice: least loaded against capacity, never a full or draining node, the
same answer on every node."""

from __future__ import annotations

import pytest

from server.cluster.placement import NodeInfo, choose_node

pytestmark = pytest.mark.unit


def node(
    node_id: str, load: float, capacity: float = 1000, sessions: int = 0, **kw: bool
) -> NodeInfo:
    return NodeInfo(node_id, f"http://{node_id}", "127.0.0.1", load, capacity, sessions, **kw)


def test_the_least_loaded_against_its_capacity_wins() -> None:
    small_busy = node("a", 300, capacity=500)  # 60 %
    big_busier = node("b", 500, capacity=2000)  # 25 %
    assert choose_node([small_busy, big_busier]) == big_busier


def test_full_and_draining_nodes_take_nothing() -> None:
    full = node("a", 1000)
    draining = node("b", 0, draining=True)
    assert choose_node([full, draining]) is None
    spare = node("c", 999)
    assert choose_node([full, draining, spare]) == spare


def test_no_nodes_no_choice() -> None:
    assert choose_node([]) is None
    assert choose_node([node("a", 0, capacity=0)]) is None


def test_ties_go_to_fewer_sessions_then_the_id_whatever_the_order() -> None:
    nodes = [node("b", 0, sessions=1), node("c", 0), node("a", 0, sessions=1)]
    assert choose_node(nodes) == nodes[1]
    assert choose_node(nodes[::2]) == nodes[2]  # "a" before "b"
    assert choose_node(nodes[::-1]) == choose_node(nodes)


def test_node_info_travels_as_json() -> None:
    info = node("a", 12.5, sessions=3, draining=True)
    assert NodeInfo.from_json(info.to_json()) == info
