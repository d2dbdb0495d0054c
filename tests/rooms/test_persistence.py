"""A live session saved as plain data and restored: every field of every dataclass the session
holds comes back equal, through JSON text and through msgpack; a session restored mid-breakout
goes on as the original would."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any, Union

import msgpack
import pytest

from rooms.breakouts import tick
from rooms.controls import apply, parse_command
from rooms.crisis_state import Crisis, CrisisAction, Holding, SafetyInfo
from rooms.model import BreakoutRoom, Breakouts, Participant, Role, Session
from rooms.persistence import SCHEMA, restore_session, session_state

# The dataclasses a Session holds; a new one must be added here (the walk below checks it).
STATE_TYPES = (
    Session,
    Participant,
    Breakouts,
    BreakoutRoom,
    SafetyInfo,
    Crisis,
    CrisisAction,
    Holding,
)
# Held in memory only, never saved (metadata persist False): restored as their defaults.
TRANSIENT: dict[str, Any] = {"safety": {}, "safety_updates": {}}


def run(session: Session, actor: str, action: str, now: float, **fields: Any) -> None:
    apply(session, actor, parse_command({"action": action, **fields}), now)


def through_json(state: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(state, allow_nan=False))
    return loaded


def through_msgpack(state: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = msgpack.unpackb(msgpack.packb(state, use_bin_type=True), raw=False)
    return loaded


# -- every field, non-default, generated from the annotations -------------------------------


class Samples:
    """A non-default value for any annotation the session's dataclasses use; distinct values
    each time, so swapped fields would show."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n

    def value(self, hint: Any, default: Any = dataclasses.MISSING) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (Union, types.UnionType):
            (inner,) = [a for a in args if a is not type(None)]
            return self.value(inner)  # not None: every optional default here is None
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.instance(hint)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return next(m for m in reversed(list(hint)) if m != default)
        if origin in (set, frozenset):
            return origin({self.value(args[0]), self.value(args[0])})
        if origin is dict:
            return {self.value(args[0]): self.value(args[1]) for _ in range(2)}
        if origin is list:
            return [self.value(args[0]) for _ in range(2)]
        if hint is bool:
            return default is not True
        if hint is int:
            return 1000 + self.next()
        if hint is float:
            return 0.25 + self.next()
        if hint is str:
            return f"v{self.next()}"
        raise AssertionError(f"no sample for {hint!r}: teach Samples (and check persistence)")

    def instance(self, kind: type) -> Any:
        hints = typing.get_type_hints(kind)
        values = {}
        for f in dataclasses.fields(kind):
            default = f.default
            if f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            values[f.name] = self.value(hints[f.name], default)
            assert values[f.name] != default, f"{kind.__name__}.{f.name}: sample is the default"
        return kind(**values)


def dataclasses_reachable(kind: type, seen: set[type] | None = None) -> set[type]:
    seen = set() if seen is None else seen
    seen.add(kind)
    for hint in typing.get_type_hints(kind).values():
        stack = [hint]
        while stack:
            h = stack.pop()
            stack.extend(typing.get_args(h))
            if isinstance(h, type) and dataclasses.is_dataclass(h) and h not in seen:
                dataclasses_reachable(h, seen)
    return seen


def test_the_state_types_are_every_dataclass_a_session_holds() -> None:
    assert dataclasses_reachable(Session) == set(STATE_TYPES)


@pytest.mark.parametrize("carry", [through_json, through_msgpack])
def test_every_field_of_every_state_type_round_trips(carry: Any) -> None:
    session = Samples().instance(Session)
    for kind in STATE_TYPES:  # every type is really in the sample, with every field non-default
        assert any(isinstance(v, kind) for v in _values(session)), kind

    state = session_state(session)
    restored = restore_session(carry(state))

    expected = dataclasses.replace(session, **TRANSIENT)
    assert restored == expected
    assert dataclasses.asdict(restored) == dataclasses.asdict(expected)
    assert carry(session_state(restored)) == carry(state)  # and it saves the same again
    for p in restored.participants.values():
        assert type(p.role) is Role


def _values(value: Any) -> list[Any]:
    found = [value]
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            found += _values(getattr(value, f.name))
    elif isinstance(value, dict):
        for v in value.values():
            found += _values(v)
    elif isinstance(value, list | set | frozenset | tuple):
        for v in value:
            found += _values(v)
    return found


def test_the_safety_check_is_never_saved() -> None:
    session = Samples().instance(Session)
    assert session.safety
    state = session_state(session)
    assert "safety" not in state["session"] and "safety_updates" not in state["session"]
    text = json.dumps(state)
    given = [*session.safety.values(), *(i for u in session.safety_updates.values() for i in u)]
    assert session.safety_updates
    for info in given:
        assert info.location not in text and info.contact_phone not in text


def test_the_state_is_plain_data_with_a_schema() -> None:
    state = session_state(Samples().instance(Session))
    assert state["schema"] == SCHEMA == "circle.live/1"
    assert set(state) == {"schema", "session"}
    assert through_json(state) == state  # nothing JSON would change: no tuples, sets, enums

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, str | int | float | bool)

    assert plain(state)


def test_sets_are_written_in_a_stable_order() -> None:
    one, two = Session("s", "T", 0.0), Session("s", "T", 0.0)
    one.removed, two.removed = {"b", "a", "c"}, {"c", "b", "a"}
    one.breakouts.keep_apart = {frozenset(("y", "x")), frozenset(("b", "a"))}
    two.breakouts.keep_apart = {frozenset(("a", "b")), frozenset(("x", "y"))}
    assert json.dumps(session_state(one)) == json.dumps(session_state(two))
    assert session_state(one)["session"]["breakouts"]["keep_apart"] == [["a", "b"], ["x", "y"]]


# -- a real session, mid-breakout -----------------------------------------------------------


def busy_session() -> Session:
    s = Session("s1", "Tuesday group", created_at=5.0, max_participants=9, waiting_room=True)
    s.join("fac", "Fran", Role.FACILITATOR, 10.0, credentials="LCSW", rejoin_key_hash="kf" * 11)
    s.join("cof", "Cas", Role.PARTICIPANT, 11.0, rejoin_key_hash="kc" * 11)
    run(s, "fac", "admit", 12.0, target="cof")
    run(s, "fac", "promote", 13.0, target="cof")
    for i, pid in enumerate(("p1", "p2", "p3", "p4", "p5")):
        s.join(pid, pid.upper(), Role.PARTICIPANT, 20.0 + i, invite_id=f"inv-{pid}")
        run(s, "fac", "admit", 30.0, target=pid)
    s.join("wait", "Wren", Role.PARTICIPANT, 31.0)  # still knocking
    run(s, "p2", "raise_hand", 40.0)
    run(s, "p3", "raise_hand", 41.0)
    run(s, "p4", "help", 42.0)
    run(s, "fac", "mute_all", 43.0, lock=True)
    run(s, "fac", "ask_unmute", 44.0, target="p2")
    run(s, "fac", "spotlight", 45.0, target="p1")
    run(s, "fac", "set_private_chat", 46.0, allowed=False)
    run(s, "fac", "remove", 47.0, target="p5", block=True)
    run(s, "fac", "breakout_create", 50.0, names=["Coping", "Sleep"])
    run(s, "fac", "breakout_keep_apart", 51.0, a="p1", b="p2")
    run(s, "fac", "breakout_auto_assign", 52.0, seed=3)
    run(s, "fac", "breakout_open", 60.0, duration_s=300, return_countdown_s=30)
    run(s, "cof", "breakout_visit", 70.0, room="b2")
    run(s, "fac", "private_room", 80.0, target="p4")
    run(s, "fac", "lock", 90.0)
    return s


def test_a_session_mid_breakout_restored_goes_on_as_the_original() -> None:
    original = busy_session()
    assert original.breakouts.is_open and original.locked and original.removed
    restored = restore_session(through_json(session_state(original)))
    assert restored == original
    assert restored.hand_queue() == original.hand_queue() == ["p2", "p3"]
    assert restored.participants["p4"].room_id == "private-p4"
    assert restored.participants["cof"].role is Role.COFACILITATOR

    # the timer runs on: time up at 360 starts the 30 s countdown, 390 brings everyone back
    for at in (359.0, 360.0, 389.0, 390.0):
        assert tick(restored, at) == tick(original, at)
        assert restored == original
    assert not restored.breakouts.is_open
    assert restored.breakouts.previous == original.breakouts.previous != {}


def test_restore_refuses_another_schema_or_bad_values() -> None:
    good = through_json(session_state(busy_session()))
    with pytest.raises(ValueError, match="schema"):
        restore_session({**good, "schema": "circle.live/99"})
    with pytest.raises(ValueError, match="schema"):
        restore_session({"session": good["session"]})
    bad_role = json.loads(json.dumps(good))
    bad_role["session"]["participants"]["fac"]["role"] = "king"
    with pytest.raises(ValueError, match="role"):
        restore_session(bad_role)
    bad_type = json.loads(json.dumps(good))
    bad_type["session"]["max_participants"] = "nine"
    with pytest.raises(ValueError, match="max_participants"):
        restore_session(bad_type)
    missing = json.loads(json.dumps(good))
    del missing["session"]["participants"]["fac"]["display_name"]
    with pytest.raises(ValueError, match="display_name"):
        restore_session(missing)


def test_a_state_from_an_older_or_newer_circle_reads() -> None:
    state = through_json(session_state(busy_session()))
    older = json.loads(json.dumps(state))
    del older["session"]["breakouts"]["return_countdown_s"]  # a field added since: its default
    del older["session"]["participants"]["p1"]["audio_locked"]
    newer = json.loads(json.dumps(state))
    newer["session"]["participants"]["p1"]["halo"] = True  # a field this Circle does not know
    assert restore_session(older).breakouts.return_countdown_s == Breakouts().return_countdown_s
    assert restore_session(older).participants["p1"].audio_locked is False
    assert restore_session(newer) == restore_session(state)
