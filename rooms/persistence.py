"""A live session's state as plain data, and back: what must survive a server restart.

`session_state(session)` gives a dict of str keys and str, int, float, bool, None, lists and
dicts (JSON and msgpack both carry it); `restore_session(state)` makes an equal `Session`.

Field-driven: every dataclass field of Session, and of the dataclasses it holds (Participant,
Breakouts, BreakoutRoom, Crisis, ...), is written and read by its type annotation, so a field
added later round-trips with no edit here. A field with `metadata={"persist": False}` is never
written (a participant's safety check: held in memory only) and comes back as its default. A
type this module cannot carry fails loudly (TypeError) rather than being dropped;
tests/rooms/test_persistence.py checks every field.

Format (`SCHEMA` "circle.live/1"):

    {"schema": "circle.live/1", "session": {<Session field>: <value>, ...}}

Values by type: a dataclass is an object of its fields; an enum its value; a set (or frozenset)
a sorted list; a dict an object (keys are strings); None stays null. Reading ignores keys it does
not know (written by a newer Circle) and gives missing fields their defaults (written by an
older one); a missing field without a default is an error.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, Union

from rooms.model import Session

SCHEMA = "circle.live/1"

_PRIMITIVES: tuple[type, ...] = (str, int, float, bool)


def session_state(session: Session) -> dict[str, Any]:
    """Everything of the session that must survive a restart, as plain data."""
    return {"schema": SCHEMA, "session": _encode(session, Session)}


def restore_session(state: dict[str, Any]) -> Session:
    """The session `session_state` wrote; ValueError for another schema or malformed data."""
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        found = state.get("schema") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"not a live session state of schema {SCHEMA!r}: {found!r}")
    session = _decode(state.get("session"), Session, "session")
    assert isinstance(session, Session)
    return session


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass's init fields (the module's names resolve the
    postponed `from __future__ import annotations` strings)."""
    resolved = typing.get_type_hints(kind)
    return {
        f.name: resolved[f.name]
        for f in dataclasses.fields(kind)
        if f.init and f.metadata.get("persist", True)
    }


def _optional(hint: Any) -> tuple[bool, Any]:
    """(True, X) for `X | None`; (False, hint) otherwise."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return True, args[0]
        raise TypeError(f"cannot carry the union {hint!r}: only `X | None`")
    return False, hint


def _encode(value: Any, hint: Any) -> Any:
    nullable, hint = _optional(hint)
    if value is None:
        if nullable:
            return None
        raise TypeError(f"None where {hint!r} is expected")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return {name: _encode(getattr(value, name), h) for name, h in _hints(hint).items()}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value.value
    if origin in (set, frozenset):
        return sorted((_encode(item, args[0]) for item in value), key=_order)
    if origin is dict:
        return {_key(k): _encode(v, args[1]) for k, v in value.items()}
    if origin in (list, tuple):
        item_hint = args[0]
        return [_encode(item, item_hint) for item in value]
    if hint in _PRIMITIVES:
        return value
    raise TypeError(f"cannot carry a value of type {hint!r}")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"dict keys must be strings, not {type(key).__name__}")
    return key


def _order(item: Any) -> Any:
    """Sort key for set members: strings, numbers, or lists of them (frozenset pairs)."""
    return (repr(type(item)), item)


def _decode(data: Any, hint: Any, where: str) -> Any:
    nullable, hint = _optional(hint)
    if data is None:
        if nullable:
            return None
        raise ValueError(f"{where}: null where {_name(hint)} is expected")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(data, hint, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except ValueError:
            raise ValueError(f"{where}: {data!r} is not a {hint.__name__}") from None
    if origin in (set, frozenset, list, tuple):
        items = [_decode(item, args[0], f"{where}[]") for item in _expect(data, list, where)]
        return origin(items)
    if origin is dict:
        return {
            _expect(k, str, where): _decode(v, args[1], f"{where}.{k}")
            for k, v in _expect(data, dict, where).items()
        }
    if hint is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)  # JSON writes 60.0 as 60 in some encoders
    if hint in _PRIMITIVES:
        if not isinstance(data, hint) or (hint is not bool and isinstance(data, bool)):
            raise ValueError(f"{where}: {data!r} is not a {hint.__name__}")
        return data
    raise TypeError(f"cannot carry a value of type {hint!r}")


def _decode_dataclass(data: Any, kind: type, where: str) -> Any:
    values = _expect(data, dict, where)
    known = _hints(kind)
    kwargs = {
        name: _decode(values[name], hint, f"{where}.{name}")
        for name, hint in known.items()
        if name in values
    }
    try:
        return kind(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{where}: {exc}") from None


_T = typing.TypeVar("_T")


def _expect(value: Any, kind: type[_T], where: str) -> _T:
    if not isinstance(value, kind):
        raise ValueError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", repr(hint))
