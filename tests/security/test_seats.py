"""Nobody takes someone's seat (issue 26, finding 1), over real sockets on loopback: the server
makes every rejoin key and keeps only its hash; a key resumes only the seat made with the same
link (a participant link never resumes a leader, another link knocks); a personal link's second
device knocks and the facilitator is told; a resume never rewrites a running crisis's safety
answers; saved live state (SQLite and Redis) holds no key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from bench.harness import RedisServer
from rooms.persistence import session_state
from server.web import STORE
from tests.clients import Client, cookie_of, group_session, token_of
from tests.conftest import RunningServer, serve, until

pytestmark = pytest.mark.live

SAFETY = {"location": "4 Quiet Lane, Leeds", "contact_name": "Robin", "contact_phone": "0113"}
PLANTED = "attacker-chosen-key-0123456789"


@dataclass
class Clinic:
    server: RunningServer
    dana: aiohttp.ClientSession  # the facilitator, signed in
    session: dict[str, Any]  # as the console gets it: links included
    clients: list[Client]

    def link(self, which: str) -> str:
        if which == "sam":
            url: str = self.session["personal_invites"][0]["url"]
            return url
        url = self.session[which]
        return url

    async def joined(self, which: str, name: str, **join: Any) -> tuple[Client, dict[str, Any]]:
        """A new connection through link `which`, joined as `name` ("": no name, a move)."""
        client = Client()
        self.clients.append(client)
        # Dana's own link leads only for her, signed in
        cookie = cookie_of(self.server, self.dana) if which == "facilitator_url" else None
        await client.connect(self.server, {"token": token_of(self.link(which))}, cookie)
        return client, await client.call("join", {**({"name": name} if name else {}), **join})

    def live_session(self) -> Any:
        return self.server.live.sessions[self.session["session_id"]]


async def open_clinic(server: RunningServer, waiting_room: bool) -> Clinic:
    dana, session = await group_session(server, waiting_room)
    return Clinic(server, dana, session, [])


@pytest.fixture
async def clinic(circle_server: RunningServer) -> AsyncIterator[Clinic]:
    opened = await open_clinic(circle_server, waiting_room=False)
    yield opened
    for client in opened.clients:
        await client.sio.disconnect()
    await opened.dana.close()


def got(client: Client, event: str) -> list[Any]:
    return [data for name, data in client.events if name == event]


async def test_the_server_makes_the_key_and_a_planted_one_resumes_nobody(clinic: Clinic) -> None:
    await clinic.joined("facilitator_url", "Dana")
    victim, joined = await clinic.joined("invite_url", "Sam", rejoin_key=PLANTED)
    key = joined["rejoin_key"]
    assert isinstance(key, str) and len(key) >= 32 and key != PLANTED
    _intruder, took = await clinic.joined("invite_url", "Sam", rejoin_key=PLANTED)
    assert took["participant_id"] != joined["participant_id"] and "resumed" not in took
    assert victim.sio.connected


async def test_a_participant_link_never_resumes_a_leader(clinic: Clinic) -> None:
    lead, joined = await clinic.joined("facilitator_url", "Dana")
    key = joined["rejoin_key"]
    _stolen, took = await clinic.joined("invite_url", "Mallory", rejoin_key=key)
    assert took["role"] == "participant" and took["admitted"] is False
    assert took["participant_id"] != joined["participant_id"] and "resumed" not in took
    assert "participants" not in took  # the waiting room sees only the title
    live = clinic.live_session().session
    assert live.participants[joined["participant_id"]].role.value == "facilitator"
    assert lead.sio.connected
    assert clinic.live_session().sids[joined["participant_id"]] == lead.sio.get_sid()


async def test_a_key_from_another_link_knocks_and_leaves_the_seat_alone(clinic: Clinic) -> None:
    _lead, _ = await clinic.joined("facilitator_url", "Dana")
    sam, joined = await clinic.joined("sam", "Sam")
    assert joined["admitted"] is True  # no waiting room in this session
    pid = joined["participant_id"]
    _other, took = await clinic.joined("invite_url", "Sam", rejoin_key=joined["rejoin_key"])
    assert took["admitted"] is False and took["participant_id"] != pid
    assert clinic.live_session().sids[pid] == sam.sio.get_sid() and sam.sio.connected


async def test_a_personal_links_second_device_knocks_and_the_facilitator_is_told(
    clinic: Clinic,
) -> None:
    lead, _ = await clinic.joined("facilitator_url", "Dana")
    laptop, first = await clinic.joined("sam", "Sam")
    _phone, second = await clinic.joined("sam", "Sam")
    assert second["admitted"] is False and second["participant_id"] != first["participant_id"]
    assert "resumed" not in second
    await until(lambda: got(lead, "participant_waiting"), 5, "the knock reaches Dana")
    knock = got(lead, "participant_waiting")[-1]
    assert knock["id"] == second["participant_id"]
    assert knock["notice"] == "Sam is joining again from another device"
    assert laptop.sio.connected
    assert clinic.live_session().sids[first["participant_id"]] == laptop.sio.get_sid()
    # the same device, its page's key: straight back in, as the same person
    await laptop.sio.disconnect()
    _back, again = await clinic.joined("sam", "Sam", rejoin_key=first["rejoin_key"])
    assert again["resumed"] is True and again["participant_id"] == first["participant_id"]


async def test_a_resume_never_rewrites_the_safety_answers_of_a_running_crisis(
    clinic: Clinic,
) -> None:
    lead, _ = await clinic.joined("facilitator_url", "Dana")
    sam, joined = await clinic.joined("sam", "Sam", safety=SAFETY)
    pid = joined["participant_id"]
    assert (await lead.call("control", {"action": "crisis_start", "target": pid}))["ok"]
    await sam.sio.disconnect()
    moved = {**SAFETY, "location": "Nowhere, AK"}
    _back, again = await clinic.joined("sam", "Sam", rejoin_key=joined["rejoin_key"], safety=moved)
    assert again["resumed"] is True
    session = clinic.live_session().session
    assert session.safety[pid].location == SAFETY["location"]
    [record] = [c for c in session.crises if c.participant_id == pid]
    updates = [a for a in record.actions if a.kind == "safety_updated"]
    assert len(updates) == 1 and "Nowhere, AK" not in updates[0].note
    # the new answers reach the clinical record (and its leaders), never the saved live state
    assert [u.location for u in session.safety_updates[pid]] == ["Nowhere, AK"]
    live = clinic.live_session()
    assert "Nowhere" not in json.dumps(session_state(session))
    [stored] = await clinic.server.app[STORE].crises_of_session(live.session.id)
    assert [u["location"] for u in stored.data["safety_updates"]] == ["Nowhere, AK"]
    audit = await clinic.server.app[STORE].audit_of_session(clinic.session["session_id"])
    assert [e.action for e in audit if e.target_id == pid][-1] == "safety_updated"


def sqlite_files_hold(data_dir: Path, text: str) -> bool:
    """Whether the SQLite store's files (the database and its journal) contain `text`."""
    return any(text.encode() in f.read_bytes() for f in data_dir.glob("circle.sqlite3*"))


async def test_a_move_ticket_carries_the_seat_once_and_only_with_its_link(
    clinic: Clinic,
) -> None:
    await clinic.joined("facilitator_url", "Dana")
    sam, joined = await clinic.joined("sam", "Sam")
    pid, ticket = joined["participant_id"], joined["move_ticket"]
    await sam.sio.disconnect()
    _, other = await clinic.joined("invite_url", "", move_ticket=ticket)
    assert other["error"] == "move_refused"  # the ticket is good only with Sam's link
    claims = jwt.decode(ticket, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-server-secret-" + "y" * 20, algorithm="HS256")
    _, refused = await clinic.joined("sam", "", move_ticket=forged)
    assert refused["error"] == "move_refused"
    _, moved = await clinic.joined("sam", "", move_ticket=ticket)
    assert moved["resumed"] is True and moved["participant_id"] == pid
    assert moved["me"]["name"] == "Sam" and moved["rejoin_key"] != joined["rejoin_key"]
    _, again = await clinic.joined("sam", "", move_ticket=ticket)
    assert again["error"] == "move_refused"  # once only: the seat has a new key now
    _, old_key = await clinic.joined("sam", "Sam", rejoin_key=joined["rejoin_key"])
    assert old_key["participant_id"] != pid and "resumed" not in old_key
    assert clinic.live_session().session.participants[pid].display_name == "Sam"


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_saved_live_state_holds_no_rejoin_key(tmp_path: Path, backend: str) -> None:
    redis = RedisServer(tmp_path / "redis", persistent=False) if backend == "redis" else None
    if redis is not None:
        (tmp_path / "redis").mkdir()
        redis.start()
    try:
        extra = {"redis_url": redis.url} if redis is not None else {}
        async with serve(tmp_path, **extra) as server:
            opened = await open_clinic(server, waiting_room=False)
            try:
                await opened.joined("facilitator_url", "Dana")
                _, joined = await opened.joined("sam", "Sam")
                live = opened.live_session()
                await server.live.save_state(live)
                state = await server.app[STORE].get_live_state(opened.session["session_id"])
                assert state is not None and joined["participant_id"] in json.dumps(state)
                assert joined["rejoin_key"] not in json.dumps(state)
                if redis is not None:
                    with redis.client() as raw:
                        for name in raw.scan_iter():
                            if raw.type(name) == b"string":
                                assert joined["rejoin_key"].encode() not in raw.get(name)
                else:
                    assert not sqlite_files_hold(tmp_path, joined["rejoin_key"])
            finally:
                for client in opened.clients:
                    await client.sio.disconnect()
                await opened.dana.close()
    finally:
        if redis is not None:
            redis.stop()
