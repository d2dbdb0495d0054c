"""The `Store` contract for crisis records (rooms.controls.crisis): every test here runs on
SQLite and on Redis (see conftest.py), like test_store_contract.py. A record is kept with the
session's audit data: the same deletion, the same retention."""

from __future__ import annotations

import math
from typing import Any

import pytest

from server.store import CrisisRecord, SessionRecord, Store, SummaryRecord
from tests.store.test_store_contract import audit, session


def crisis(sid: str, cid: str, at: float, **data: Any) -> CrisisRecord:
    body = {
        "participant": {"id": "p1", "name": "Pat"},
        "location": "12 Elm St, Austin, TX",
        "actions": [{"at": at, "kind": "started", "by": "fac", "note": ""}],
        **data,
    }
    return CrisisRecord(sid, cid, at, body)


async def test_crisis_records_round_trip_replace_and_order(store: Store) -> None:
    assert await store.crises_of_session("s-1") == []
    await store.put_crisis(crisis("s-1", "c2", 20.0))
    await store.put_crisis(crisis("s-1", "c1", 10.0))
    await store.put_crisis(crisis("s-2", "c1", 5.0))
    ended = crisis("s-1", "c1", 10.0, ended_at=99.5, actions=[{"at": 10.0, "kind": "x"}] * 2)
    await store.put_crisis(ended)  # the same crisis again: replaced
    got = await store.crises_of_session("s-1")
    assert [r.crisis_id for r in got] == ["c1", "c2"]
    assert got[0] == ended  # lists stay lists, floats stay floats
    assert isinstance(got[0].data["actions"], list)
    assert [r.crisis_id for r in await store.crises_of_session("s-2")] == ["c1"]


@pytest.mark.parametrize(
    "bad",
    [
        CrisisRecord("", "c1", 1.0, {}),
        CrisisRecord("s-1", "", 1.0, {}),
        CrisisRecord("s-1", "c1", math.nan, {}),
        CrisisRecord("s-1", "c1", 1.0, {"x": math.inf}),
        CrisisRecord("s-1", "c1", 1.0, {"x": {1, 2}}),
    ],
)
async def test_crisis_records_refuse_what_could_not_be_read_back(
    store: Store, bad: CrisisRecord
) -> None:
    with pytest.raises(ValueError):
        await store.put_crisis(bad)
    assert await store.crises_of_session("s-1") == []


async def test_deleting_a_sessions_data_takes_its_crisis_records(store: Store) -> None:
    await store.add_session(session("s-1"))
    await store.put_crisis(crisis("s-1", "c1", 10.0))
    await store.put_crisis(crisis("s-2", "c1", 10.0))
    assert await store.delete_session_data("s-1") is True
    assert await store.crises_of_session("s-1") == []
    assert len(await store.crises_of_session("s-2")) == 1
    assert await store.delete_session_data("s-2") is True  # a crisis alone is session data
    assert await store.delete_session_data("s-2") is False


async def test_retention_purges_crisis_records_with_the_audit_data(store: Store) -> None:
    for sid, at in (("s-old", 1000.0), ("s-new", 3000.0)):
        await store.add_session(session(sid))
        await store.put_summary(SummaryRecord(sid, "g-1", {"at": at}, at, True))
        await store.append_audit(audit(sid, "crisis_start"))
        await store.put_crisis(crisis(sid, "c1", at))
    assert await store.purge_summaries(2000.0) == ["s-old"]
    assert await store.crises_of_session("s-old") == []
    assert await store.audit_of_session("s-old") == []
    assert len(await store.crises_of_session("s-new")) == 1


async def test_the_safety_check_setting_round_trips(store: Store) -> None:
    on = session("s-on")
    off = SessionRecord(**{**_fields(session("s-off")), "safety_check": False})
    assert on.safety_check is True  # on by default
    await store.add_session(on)
    await store.add_session(off)
    assert await store.get_session("s-on") == on
    assert await store.get_session("s-off") == off


def _fields(record: SessionRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}
