"""The placement choice: least loaded (CPU against capacity), never a full or draining node, the
same answer on every node."""

from __future__ import annotations

import pytest

from server.cli import build_parser
from server.cluster.placement import NodeInfo, choose_node
from server.config import Settings, settings_from_args

pytestmark = pytest.mark.unit

CAPACITY = Settings().capacity_cores


def node(node_id: str, cpu: float, sessions: int = 0, **kw: bool) -> NodeInfo:
    return NodeInfo(
        node_id, f"http://{node_id}", "127.0.0.1", 1000 * cpu, cpu, CAPACITY, sessions, **kw
    )


def test_a_node_forwarding_a_twelve_person_group_takes_another() -> None:
    # docs/cluster.md: a 12-person group forwards ~12,500 pkt/s, at up to 31 us a packet
    one_group = NodeInfo("a", "http://a", "127.0.0.1", 12_500, 12_500 * 31e-6, CAPACITY, 1)
    assert choose_node([one_group]) == one_group


def test_never_full_below_seventy_percent_of_a_core() -> None:
    assert CAPACITY >= 0.7
    assert choose_node([node("a", 0.69)]) is not None
    assert choose_node([node("a", CAPACITY)]) is None


def test_the_least_busy_against_its_capacity_wins() -> None:
    small_busy = NodeInfo("a", "http://a", "127.0.0.1", 0, 0.3, 0.5, 0)  # 60 %
    big_busier = NodeInfo("b", "http://b", "127.0.0.1", 0, 0.4, 1.0, 0)  # 40 %
    assert choose_node([small_busy, big_busier]) == big_busier


def test_full_and_draining_nodes_take_nothing() -> None:
    full = node("a", 0.9)
    draining = node("b", 0, draining=True)
    assert choose_node([full, draining]) is None
    spare = node("c", 0.6)
    assert choose_node([full, draining, spare]) == spare


def test_no_nodes_no_choice() -> None:
    assert choose_node([]) is None


def test_ties_go_to_fewer_sessions_then_the_id_whatever_the_order() -> None:
    nodes = [node("b", 0, sessions=1), node("c", 0), node("a", 0, sessions=1)]
    assert choose_node(nodes) == nodes[1]
    assert choose_node(nodes[::2]) == nodes[2]  # "a" before "b"
    assert choose_node(nodes[::-1]) == choose_node(nodes)


def test_node_info_travels_as_json() -> None:
    info = node("a", 0.25, sessions=3, draining=True)
    assert NodeInfo.from_json(info.to_json()) == info


def test_a_node_of_another_version_is_left_out() -> None:
    before = '{"node_id": "a", "url": "http://a", "ice_address": "127.0.0.1", "load_pps": 5.0, '
    before += '"capacity_pps": 8000.0, "sessions": 1, "draining": false}'
    assert NodeInfo.from_json(before) is None
    assert NodeInfo.from_json("not json") is None


def test_the_capacity_flag_takes_a_share_of_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLE_SECRET", "x" * 40)  # no secret.key written

    def capacity(*flags: str) -> float:
        args = build_parser().parse_args(["serve", "--data-dir", "/nonexistent-circle", *flags])
        return settings_from_args(args).capacity_cores

    assert capacity() == CAPACITY == 0.7
    assert capacity("--capacity-cores", "0.9") == 0.9
    with pytest.raises(SystemExit, match="--capacity-cores"):
        capacity("--capacity-cores", "0")
