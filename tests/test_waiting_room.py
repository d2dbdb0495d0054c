"""The waiting room, lock, block, end and leaders' identities through the real server, with
socket.io clients: who hears what, and what the store keeps."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from server import accounts
from server.store import Facilitator, Group, Invite
from server.web import STORE
from tests.clients import Client, call, refused_connect, signed_in, token_of
from tests.conftest import RunningServer, until


async def connected(
    server: RunningServer, url: str, cookie: str | None = None, **auth: Any
) -> Client:
    client = Client()
    await client.connect(server, {"token": token_of(url), **auth}, cookie)
    return client


def names(client: Client) -> list[str]:
    return [name for name, _ in client.events]


def payloads(client: Client, event: str) -> list[Any]:
    return [data for name, data in client.events if name == event]


async def test_knock_admit_and_deny(circle_server: RunningServer) -> None:
    session = await circle_server.create_session(waiting_room=True)
    lead = await connected(circle_server, session["facilitator_url"])
    member = await connected(circle_server, session["invite_url"])
    knock = await connected(circle_server, session["invite_url"])
    denied = await connected(circle_server, session["invite_url"])
    try:
        assert (await lead.call("join", {"name": "Lee"}))["admitted"] is True
        assert (await member.call("join", {"name": "Mo"}))["admitted"] is False
        assert (await lead.call("control", {"action": "admit_all"}))["ok"]
        await until(lambda: "admitted" in names(member), 3, "Mo admitted")

        reply = await knock.call("join", {"name": "Kit"})
        assert reply["admitted"] is False and "participants" not in reply
        kit = reply["participant_id"]
        await until(lambda: "participant_waiting" in names(lead), 3, "the knock reaches the lead")
        assert payloads(lead, "participant_waiting")[-1]["id"] == kit
        # someone waiting may not send media or act
        assert (await knock.call("publish", {"sdp": "v=0\r\n" * 3}))["error"] == "waiting"
        assert (await knock.call("control", {"action": "raise_hand"}))["error"] == "forbidden"

        assert (await lead.call("control", {"action": "admit", "target": kit}))["ok"]
        await until(lambda: "admitted" in names(knock), 3, "Kit hears they are in")
        [state] = payloads(knock, "admitted")
        assert {p["name"] for p in state["participants"]} == {"Lee", "Mo", "Kit"}
        assert "waiting" not in state  # only leaders see the waiting room
        await until(lambda: "participant_admitted" in names(member), 3, "Mo sees Kit arrive")

        dee = (await denied.call("join", {"name": "Dee"}))["participant_id"]
        await until(lambda: len(payloads(lead, "participant_waiting")) == 3, 3, "third knock")
        await lead.call("control", {"action": "deny", "target": dee, "message": "Not today"})
        await until(lambda: not denied.sio.connected, 5, "the denied socket is closed")
        assert payloads(denied, "participant_denied") == [{"message": "Not today"}]
        # the group never heard about the waiting room
        for client in (member, knock):
            assert "participant_waiting" not in names(client)
            assert all(d.get("participant_id") != dee for d in payloads(client, "participant_left"))
        live = circle_server.live.sessions[session["session_id"]]
        assert sorted(p.display_name for p in live.session.participants.values()) == [
            "Kit",
            "Lee",
            "Mo",
        ]
        audit = await circle_server.app[STORE].audit_of_session(session["session_id"])
        assert [(e.action, e.outcome) for e in audit] == [
            ("admit_all", "ok"),
            ("raise_hand", "forbidden"),
            ("admit", "ok"),
            ("deny", "ok"),
        ]
    finally:
        for client in (lead, member, knock, denied):
            await client.sio.disconnect()


async def test_block_lock_and_end_persist(circle_server: RunningServer) -> None:
    store = circle_server.app[STORE]
    now = time.time()
    await store.add_group(Group("g_1", "Tuesday IOP", "f_x", ("f_x",), now))
    await store.add_invite(Invite("i_1", "g_1", "Robin", "it_robin", now))
    session = await circle_server.create_session(group_id="g_1")
    sid = session["session_id"]
    [personal] = session["personal_invites"]
    lead = await connected(circle_server, session["facilitator_url"])
    robin = await connected(circle_server, personal["url"])
    try:
        await lead.call("join", {"name": "Lee"})
        robin_id = (await robin.call("join", {"name": "Robin"}))["participant_id"]
        live = circle_server.live.sessions[sid]
        assert live.session.participants[robin_id].invite_id == "it_robin"
        await lead.call("control", {"action": "remove", "target": robin_id, "block": True})
        await until(lambda: not robin.sio.connected, 5, "removed")
        assert payloads(robin, "removed") == [{"blocked": True}]
        assert await store.is_invite_blocked(sid, "it_robin")

        again = await connected(circle_server, personal["url"])
        assert (await again.call("join", {"name": "Robin"}))["error"] == "blocked"
        await again.sio.disconnect()

        await lead.call("control", {"action": "lock"})
        late = await connected(circle_server, session["invite_url"])
        assert (await late.call("join", {"name": "Late"}))["error"] == "locked"
        await lead.call("control", {"action": "unlock"})
        assert (await late.call("join", {"name": "Late"}))["ok"]

        # a flood of control events is cut off with a clear error; the session goes on
        replies = await asyncio.gather(
            *(late.call("control", {"action": "react", "emoji": "👏"}) for _ in range(60))
        )
        codes = [r.get("error", "ok") for r in replies]
        assert codes.count("rate_limited") >= 20 and "ok" in codes
        assert (await lead.call("control", {"action": "raise_hand"}))["ok"]

        assert (await lead.call("control", {"action": "end"}))["ok"]
        await until(lambda: not late.sio.connected, 5, "everyone is sent away")
        assert len(payloads(late, "session_ended")) == 1
        record = await store.get_session(sid)
        assert record is not None and record.ended_at is not None
        after = await connected(circle_server, session["invite_url"])
        assert (await after.call("join", {"name": "After"}))["error"] == "ended"
        await after.sio.disconnect()
        assert sid not in circle_server.live.sessions
    finally:
        await lead.sio.disconnect()
        await robin.sio.disconnect()


async def test_leaders_are_shown_with_their_credentials(circle_server: RunningServer) -> None:
    await circle_server.app[STORE].add_facilitator(
        Facilitator("f_mo", "mo@x.org", accounts.hash_password("x" * 12), "Dr. Mo", "MD", 0.0)
    )
    # a facilitator link names its account; a cofacilitator link takes the signed-in account
    # of a leader of the session (here a co-lead of its group)
    dana = await signed_in(circle_server, "f_dana", "dana@x.org")
    try:
        base = circle_server.base_url
        status, group = await call(dana, "POST", f"{base}/api/groups", {"name": "Tuesday"})
        assert status == 201
        await circle_server.app[STORE].add_group_facilitator(group["id"], "f_mo")
        status, session = await call(
            dana,
            "POST",
            f"{base}/api/sessions",
            {"title": "Week 1", "waiting_room": False, "group_id": group["id"]},
        )
        assert status == 201
    finally:
        await dana.close()
    cookie = accounts.issue_cookie(circle_server.settings.secret, "f_mo", time.time())
    dana_cookie = accounts.issue_cookie(circle_server.settings.secret, "f_dana", time.time())
    lead = await connected(circle_server, session["facilitator_url"], dana_cookie)
    psych = Client()
    await psych.sio.connect(
        circle_server.base_url,
        auth={"token": token_of(session["cofacilitator_url"])},
        headers={"Cookie": f"{accounts.COOKIE_NAME}={cookie}"},
        transports=["websocket"],
    )
    member = await connected(circle_server, session["invite_url"])
    try:
        assert (await lead.call("join", {"name": "typed"}))["me"]["name"] == "F_Dana"
        joined = await psych.call("join", {"name": "typed"})
        assert (joined["me"]["name"], joined["me"]["credentials"]) == ("Dr. Mo", "MD")
        assert joined["role"] == "cofacilitator"
        # a participant's link never takes an account's identity
        member_joined = await member.call("join", {"name": "Sam"})
        assert member_joined["me"]["credentials"] == ""
        shown = {p["name"]: p["credentials"] for p in member_joined["participants"]}
        assert shown == {"F_Dana": "PhD", "Dr. Mo": "MD", "Sam": ""}
    finally:
        for client in (lead, psych, member):
            await client.sio.disconnect()


async def test_a_token_of_another_session_reaches_nothing_here(
    circle_server: RunningServer,
) -> None:
    ours = await circle_server.create_session("Ours")
    theirs = await circle_server.create_session("Theirs")
    lead = await connected(circle_server, ours["facilitator_url"])
    member = await connected(circle_server, ours["invite_url"])
    other_lead = await connected(circle_server, theirs["facilitator_url"])
    try:
        await lead.call("join", {"name": "Lee"})
        target = (await member.call("join", {"name": "Mo"}))["participant_id"]
        await other_lead.call("join", {"name": "Other"})
        live = circle_server.live.sessions[ours["session_id"]]
        before = {pid: p.public() for pid, p in live.session.participants.items()}
        for body in (
            {"action": "mute", "target": target},
            {"action": "remove", "target": target, "block": True},
            {"action": "private_room", "target": target},
        ):
            reply = await other_lead.call("control", body)
            assert reply["error"] == "not_found", (body, reply)
        assert {pid: p.public() for pid, p in live.session.participants.items()} == before
        assert member.sio.connected and "audio_forced_off" not in names(member)
        # and the token names its own session only: it cannot be pointed at ours
        refusal = await refused_connect(
            circle_server,
            {"token": token_of(theirs["facilitator_url"]), "session_id": ours["session_id"]},
        )
        assert refusal["data"]["error"] == "invalid_token"
    finally:
        for client in (lead, member, other_lead):
            await client.sio.disconnect()


async def test_an_admitted_page_reconnecting_comes_straight_back(
    circle_server: RunningServer,
) -> None:
    session = await circle_server.create_session(waiting_room=True)
    lead = await connected(circle_server, session["facilitator_url"])
    first = await connected(circle_server, session["invite_url"])
    try:
        await lead.call("join", {"name": "Lee"})
        joined = await first.call("join", {"name": "Pat", "rejoin_key": "k" * 24})
        pid, key = joined["participant_id"], joined["rejoin_key"]
        assert key != "k" * 24  # the server makes the key
        await lead.call("control", {"action": "admit", "target": pid})
        await until(lambda: "admitted" in names(first), 3, "admitted")
        await first.sio.disconnect()  # a dropped connection
        again = await connected(circle_server, session["invite_url"])
        assert (await again.call("join", {"name": "Pat", "rejoin_key": key}))["admitted"] is True
        await again.sio.disconnect()
        stranger = await connected(circle_server, session["invite_url"])
        short = await stranger.call("join", {"name": "X", "rejoin_key": "short"})
        assert short["error"] == "invalid" and short["message"].startswith("rejoin_key")
        assert (await stranger.call("join", {"name": "X", "rejoin_key": "z" * 24}))[
            "admitted"
        ] is False
        await stranger.sio.disconnect()
    finally:
        await lead.sio.disconnect()


async def test_a_knock_names_the_personal_invite_or_the_general_link(
    circle_server: RunningServer,
) -> None:
    """The leaders' knock carries the personal invite's label (Sam's, as Dana named it) or
    none for the general link, so a member is told from a stranger."""
    from tests.clients import cookie_of, group_session

    dana, session = await group_session(circle_server, waiting_room=True)
    [personal] = session["personal_invites"]
    lead = await connected(
        circle_server, session["facilitator_url"], cookie_of(circle_server, dana)
    )
    sam = await connected(circle_server, personal["url"])
    stranger = await connected(circle_server, session["invite_url"])
    try:
        await lead.call("join", {"name": "Dana"})
        await sam.call("join", {"name": "Sammy"})
        await stranger.call("join", {"name": "Sam"})
        await until(lambda: len(payloads(lead, "participant_waiting")) == 2, 5, "two knocks")
        knocks = {k["name"]: k["invite"] for k in payloads(lead, "participant_waiting")}
        assert knocks == {"Sammy": "Sam", "Sam": None}
    finally:
        for client in (lead, sam, stranger):
            await client.sio.disconnect()
        await dana.close()
