"""A leader's power needs a leader (issue 26, findings 2 and 7), over real sockets on loopback:
a facilitator's and a co-facilitator's links follow the account that made them (disabled,
password reset or signed out everywhere: they stop, at a join and at a resume), and a
co-facilitator link opens a leader's seat only to a signed-in co-lead of the session; anyone
else holding it knocks and sees no member's safety answers or crisis alert until admitted."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server import accounts
from server.web import STORE
from tests.clients import Client, call, cookie_of, group_session, signed_in, token_of
from tests.conftest import RunningServer, until

pytestmark = pytest.mark.live

SAFETY = {"location": "4 Quiet Lane, Leeds", "contact_name": "Robin", "contact_phone": "0113"}


@pytest.fixture
async def dana_session(
    circle_server: RunningServer,
) -> AsyncIterator[tuple[aiohttp.ClientSession, dict[str, Any]]]:
    dana, session = await group_session(circle_server, waiting_room=False)
    yield dana, session
    await dana.close()


async def connected(server: RunningServer, url: str, cookie: str | None = None) -> Client:
    client = Client()
    headers = {"Cookie": f"{accounts.COOKIE_NAME}={cookie}"} if cookie else {}
    await client.sio.connect(
        server.base_url,
        auth={"token": token_of(url)},
        headers=headers,
        transports=["websocket"],
    )
    return client


def got(client: Client, event: str) -> list[Any]:
    return [data for name, data in client.events if name == event]


async def end_access(server: RunningServer, dana: aiohttp.ClientSession, how: str) -> None:
    store = server.app[STORE]
    if how == "disabled":
        await store.update_facilitator_access("f_dana", disabled=True)
    elif how == "password_reset":
        new_hash = accounts.hash_password("another long passphrase")
        await store.update_facilitator_access("f_dana", password_hash=new_hash)
    else:  # signed out (everywhere: every cookie and link of the account)
        status, _ = await call(dana, "POST", f"{server.base_url}/api/auth/signout")
        assert status == 200


@pytest.mark.parametrize("how", ["disabled", "password_reset", "signed_out"])
async def test_leader_links_end_with_the_account(
    circle_server: RunningServer,
    dana_session: tuple[aiohttp.ClientSession, dict[str, Any]],
    how: str,
) -> None:
    dana, session = dana_session
    lead = await connected(
        circle_server, session["facilitator_url"], cookie_of(circle_server, dana)
    )
    clients = [lead]
    try:
        joined = await lead.call("join", {"name": "Dana"})
        assert joined["ok"] and joined["role"] == "facilitator"
        await lead.sio.disconnect()  # the page drops; its account is ended meanwhile
        await end_access(circle_server, dana, how)
        for url, key in (
            (session["facilitator_url"], {"rejoin_key": joined["rejoin_key"]}),  # the resume
            (session["facilitator_url"], {}),
            (session["cofacilitator_url"], {}),
        ):
            client = await connected(circle_server, url)
            clients.append(client)
            refused = await client.call("join", {"name": "Dana", **key})
            assert refused["error"] == "invalid_token", (url, refused)
        live = circle_server.live.sessions[session["session_id"]].session
        assert live.participants[joined["participant_id"]].disconnected_at is not None
        assert len(live.participants) == 1  # nobody else got in
    finally:
        for client in clients:
            await client.sio.disconnect()


async def test_a_co_lead_link_without_an_account_knocks_and_sees_nothing_of_safety(
    circle_server: RunningServer,
    dana_session: tuple[aiohttp.ClientSession, dict[str, Any]],
) -> None:
    dana, session = dana_session
    lead = await connected(
        circle_server, session["facilitator_url"], cookie_of(circle_server, dana)
    )
    sam = await connected(circle_server, session["personal_invites"][0]["url"])
    holder = await connected(circle_server, session["cofacilitator_url"])
    try:
        await lead.call("join", {"name": "Dana"})
        sam_id = (await sam.call("join", {"name": "Sam", "safety": SAFETY}))["participant_id"]
        knock = await holder.call("join", {"name": "Cas"})
        assert knock["role"] == "cofacilitator" and knock["admitted"] is False
        assert "participants" not in knock and "crises" not in knock
        view = await holder.call("control", {"action": "safety_view", "target": sam_id})
        assert view["error"] == "forbidden"
        assert (await lead.call("control", {"action": "crisis_start", "target": sam_id}))["ok"]
        await sam.sio.disconnect()
        await until(lambda: got(lead, "crisis_alert"), 5, "Dana is alerted")
        await until(lambda: got(lead, "participant_waiting"), 5, "the knock reaches Dana")
        notice = got(lead, "participant_waiting")[-1]["notice"]
        assert notice == "Cas is waiting to join as a co-facilitator"  # Dana knows what she admits
        assert got(holder, "crisis_alert") == [] and got(holder, "safety_info") == []
        assert SAFETY["location"] not in repr(holder.events)
        # the facilitator lets them in: now they lead
        target = knock["participant_id"]
        assert (await lead.call("control", {"action": "admit", "target": target}))["ok"]
        await until(lambda: got(holder, "admitted"), 5, "Cas is admitted")
        assert (await holder.call("control", {"action": "safety_view", "target": sam_id}))["ok"]
    finally:
        for client in (lead, sam, holder):
            await client.sio.disconnect()


async def test_a_signed_in_co_lead_of_the_group_leads_at_once_and_a_stranger_knocks(
    circle_server: RunningServer,
    dana_session: tuple[aiohttp.ClientSession, dict[str, Any]],
) -> None:
    _, session = dana_session
    store = circle_server.app[STORE]
    record = await store.get_session(session["session_id"])
    assert record is not None and record.group_id is not None
    mo = await signed_in(circle_server, "f_mo", "mo@example.org")
    await store.add_group_facilitator(record.group_id, "f_mo")
    other = await signed_in(circle_server, "f_zed", "zed@example.org")
    clients: list[Client] = []
    try:
        co = await connected(
            circle_server, session["cofacilitator_url"], cookie_of(circle_server, mo)
        )
        stranger = await connected(
            circle_server, session["cofacilitator_url"], cookie_of(circle_server, other)
        )
        clients += [co, stranger]
        joined = await co.call("join", {"name": "typed"})
        assert joined["admitted"] is True and joined["me"]["name"] == "F_Mo"
        assert (await stranger.call("join", {"name": "Zed"}))["admitted"] is False
        # a revoked cookie is no account: Mo signs out, and the link alone knocks
        status, _ = await call(mo, "POST", f"{circle_server.base_url}/api/auth/signout")
        assert status == 200
        revoked = accounts.issue_cookie(circle_server.settings.secret, "f_mo", time.time(), 0)
        stale = await connected(circle_server, session["cofacilitator_url"], revoked)
        clients.append(stale)
        assert (await stale.call("join", {"name": "Mo"}))["admitted"] is False
    finally:
        for client in clients:
            await client.sio.disconnect()
        await mo.close()
        await other.close()


async def test_a_facilitator_link_leads_only_for_the_facilitator_it_names(
    circle_server: RunningServer,
    dana_session: tuple[aiohttp.ClientSession, dict[str, Any]],
) -> None:
    """Opened with no sign-in, or signed in as someone else, Dana's link is refused with a
    clear error (sign in first); signed in as Dana, it leads."""
    dana, session = dana_session
    other = await signed_in(circle_server, "f_omar", "omar@example.org")
    try:
        for cookie in (None, cookie_of(circle_server, other)):
            client = await connected(circle_server, session["facilitator_url"], cookie)
            reply = await client.call("join", {"name": "Dana"})
            assert reply["error"] == "sign_in_required", reply
            assert "sign in" in reply["message"].lower()
            await client.sio.disconnect()
        lead = await connected(
            circle_server, session["facilitator_url"], cookie_of(circle_server, dana)
        )
        reply = await lead.call("join", {"name": "Dana"})
        assert reply["ok"] and reply["role"] == "facilitator", reply
        await lead.sio.disconnect()
    finally:
        await other.close()
