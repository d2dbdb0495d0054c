"""A hypothesis state machine fuzzes the socket events of a live session from a participant,
a co-facilitator and an outsider (a token of another session): random and mutated events of
every kind (wrong types, huge values, reserved names, unknown ids, integer map keys). The
server must answer every event, never log a traceback, leave the facilitator and a bystander
unaffected, and change nothing on a refused event or an unauthorised one.

Bounded: a fixed number of examples, derandomized (the same run each time), about 30-60 s."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import hypothesis.strategies as st
import msgpack
import pytest
import socketio
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rooms.controls import ACTIONS
from rooms.controls.dispatch import PARTICIPANT_COMMANDS
from server.app import SOCKET_MESSAGE_MAX_BYTES, create_app
from server.limits import JoinLimits, SlidingLimit
from server.store import Group, Invite
from server.web import STORE
from tests.clients import Client, token_of
from tests.conftest import RunningServer, make_settings, start_app

pytestmark = pytest.mark.live

EVENTS = ["join", "publish", "subscribe", "subscribe_answer", "media_state", "control"]
EVENTS += [
    "client_stats",
    "view",
    "leave",
    "connect",
    "disconnect",
    "connect_error",
    "message",
    "x" * 50,
]
PARTICIPANT_ACTIONS = {
    str(a) for c in PARTICIPANT_COMMANDS for a in get_args(c.model_fields["action"].annotation)
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.just("x" * 70_000),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers(0, 3)), inner, max_size=4),
    ),
    max_leaves=8,
)


def control_bodies(targets: list[str]) -> st.SearchStrategy[dict[Any, Any]]:
    base = st.fixed_dictionaries(
        {"action": st.sampled_from(sorted(ACTIONS))},
        optional={
            "target": st.one_of(st.sampled_from(targets), st.text(max_size=50), values),
            "block": values,
            "lock": st.booleans(),
            "text": st.text(max_size=600),
            "to": st.sampled_from(targets),
            "emoji": st.text(max_size=3),
            "allowed": values,
            "message": values,
        },
    )
    keys = st.one_of(st.text(max_size=8), st.integers(-(2**63), 2**64 - 1))
    return st.one_of(base, st.dictionaries(keys, values))


def view_bodies(targets: list[str]) -> st.SearchStrategy[Any]:
    """`view` bodies near the valid ones: known and odd ids, sizes in and out of range, long
    lists."""
    tile = st.fixed_dictionaries(
        {
            "participant_id": st.one_of(st.sampled_from(targets), st.text(max_size=70), values),
            "width": st.one_of(st.integers(-10, 20_000), values),
            "height": st.one_of(st.integers(-10, 20_000), values),
        }
    )
    return st.one_of(
        st.fixed_dictionaries({"tiles": st.lists(tile, max_size=70)}),
        st.fixed_dictionaries({"tiles": st.lists(tile, max_size=3)}, optional={"x": values}),
    )


SEATED = ["lead", "bystander", "participant", "cofacilitator", "sam"]


def _flip(text: str) -> str:
    middle = len(text) // 2
    return text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :]


# How a presented key or ticket is changed: (credential, everyone's seats) -> what is sent
MANGLES: dict[str, Callable[[str, dict[str, dict[str, str]]], Any]] = {
    "as_given": lambda c, _: c,
    "flipped": lambda c, _: _flip(c),
    "truncated": lambda c, _: c[:-1],
    "extended": lambda c, _: c + "x",
    "too_short": lambda c, _: c[:8],
    "not_a_string": lambda c, _: [c],
    "a_key_as_ticket": lambda c, seats: next(iter(seats.values()))["rejoin_key"] * 2,
    "absent": lambda c, _: None,  # the link alone: another device
}
LINK_ROLES = {"lead": "facilitator", "cofacilitator": "cofacilitator"}


class Fuzz(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    server: RunningServer
    log_records: list[logging.LogRecord]

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 20))

    @initialize()
    def open_session(self) -> None:
        self.session = self.run(self.group_session())
        other = self.run(self.server.create_session())
        self.sid = self.session["session_id"]
        self.clients: dict[str, Client] = {}
        self.tokens = {
            "lead": token_of(self.session["facilitator_url"]),
            "bystander": token_of(self.session["invite_url"]),
            "participant": token_of(self.session["invite_url"]),
            "cofacilitator": token_of(self.session["cofacilitator_url"]),
            "sam": token_of(self.session["personal_invites"][0]["url"]),
            "outsider": token_of(other["invite_url"]),
        }
        self.pids: dict[str, str] = {}
        self.seats: dict[str, dict[str, str]] = {}  # who -> the rejoin key and move ticket
        self.gone: set[str] = set()
        for who in self.tokens:
            assert self.run(self.connect(who))
        self.targets = [*self.pids.values(), "p_nobody", ""]

    async def group_session(self) -> dict[str, Any]:
        """A session of a group with Sam's personal invite (made with the API key)."""
        store = self.server.app[STORE]
        group = Group(f"g_{uuid.uuid4().hex[:8]}", "Fuzz", "f_none", ("f_none",), 0.0)
        await store.add_group(group)
        await store.add_invite(Invite(f"i_{group.id}", group.id, "Sam", f"it_{group.id}", 0.0))
        return await self.server.create_session(waiting_room=False, group_id=group.id)

    async def connect(self, who: str) -> bool:
        """Connect and join; False when a leader's allowed control keeps them out (locked,
        removed and blocked): then they send nothing more in this example. A co-lead link
        with no account knocks: the lead lets them in."""
        client = Client()
        await client.connect(self.server, {"token": self.tokens[who]})
        reply = await client.call("join", {"name": who.title()})
        self.clients[who] = client
        if not reply.get("ok"):
            assert reply["error"] in ("locked", "blocked", "full"), reply
            await client.sio.disconnect()
            self.gone.add(who)
            return False
        self.pids[who] = reply["participant_id"]
        self.seats[who] = {"rejoin_key": reply["rejoin_key"], "move_ticket": reply["move_ticket"]}
        if who == "cofacilitator" and not reply["admitted"]:
            admit = {"action": "admit", "target": reply["participant_id"]}
            if not (await self.clients["lead"].call("control", admit)).get("ok"):
                await client.sio.disconnect()
                self.gone.add(who)
                return False
        return True

    async def until_closed(self, client: Client) -> None:
        for _ in range(100):
            if not client.sio.connected:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("an oversized message did not close its socket")

    def live_state(self) -> Any:
        live = self.server.live.get(self.sid)
        if live is None:
            return None
        s = live.session
        people = sorted((p.id, tuple(sorted(p.public().items()))) for p in s.participants.values())
        views = tuple(live.router.video.view_of(pid) for pid in sorted(s.participants))
        return (
            people,
            s.locked,
            s.spotlight,
            tuple(s.hand_queue()),
            s.participants_may_unmute,
            views,
        )

    @rule(
        who=st.sampled_from(["participant", "cofacilitator", "outsider"]),
        event=st.sampled_from(EVENTS),
        data=values,
    )
    def any_event(self, who: str, event: str, data: Any) -> None:
        self.send(who, event, data)

    @rule(who=st.sampled_from(["participant", "cofacilitator", "outsider"]), data=st.data())
    def a_control(self, who: str, data: st.DataObject) -> None:
        self.send(who, "control", data.draw(control_bodies(self.targets)))

    @rule(who=st.sampled_from(["participant", "cofacilitator", "outsider"]), data=st.data())
    def a_view(self, who: str, data: st.DataObject) -> None:
        self.send(who, "view", data.draw(view_bodies(self.targets)))

    @rule(
        link=st.sampled_from([*SEATED, "outsider"]),
        owner=st.sampled_from(SEATED),
        kind=st.sampled_from(["rejoin_key", "move_ticket"]),
        mangle=st.sampled_from(sorted(MANGLES)),
        extra=st.one_of(st.none(), values),
    )
    def a_resume(self, link: str, owner: str, kind: str, mangle: str, extra: Any) -> None:
        """Someone new presents a seat's key or move ticket (as it is, or mangled) through
        some link: only the seat's own link with its unmangled credential is that seat again;
        everything else leaves every seat as it was."""
        if owner in self.gone or link in self.gone or owner not in self.seats:
            return
        credential = MANGLES[mangle](self.seats[owner][kind], self.seats)
        body: dict[str, Any] = {"name": "Intruder"}
        if credential is not None:
            body[kind] = credential
        if extra is not None:
            body["safety"] = extra
        live = self.server.live.get(self.sid)
        if live is None:
            return
        seats_before = {who: live.sids.get(pid) for who, pid in self.pids.items()}
        roles_before = {p.id: p.role for p in live.session.participants.values()}
        sam_seated = self.pids["sam"] in live.sids
        intruder = Client()
        self.run(intruder.connect(self.server, {"token": self.tokens[link]}))
        reply = self.run(intruder.call("join", body))
        assert isinstance(reply, dict) and ("ok" in reply or "error" in reply), reply
        same_link = self.tokens[link] == self.tokens[owner]
        genuine = mangle == "as_given" and same_link
        if reply.get("resumed"):
            # the same link and the server's own credential: the same device, by definition
            assert genuine and reply["participant_id"] == self.pids[owner], (link, owner, mangle)
            assert reply["role"] == roles_before[self.pids[owner]].value
            old = self.clients[owner]
            self.clients[owner] = intruder
            self.seats[owner] = {k: reply[k] for k in ("rejoin_key", "move_ticket")}
            self.run(old.sio.disconnect())
            return
        if reply.get("ok"):
            # someone new (or a genuine return after the seat was left), in the link's role
            assert genuine or reply["participant_id"] not in self.pids.values(), reply
            assert reply["role"] == LINK_ROLES.get(link, "participant"), (link, reply)
            if link == "sam" and sam_seated and not genuine:
                assert reply["admitted"] is False  # Sam's link on another device knocks
            self.run(intruder.call("leave", {}))
        self.run(intruder.sio.disconnect())
        live = self.server.live.get(self.sid)
        if live is not None:  # every seat is on the socket it was on
            for who, pid in self.pids.items():
                assert live.sids.get(pid) in (seats_before[who], None), (who, link, mangle)

    def send(self, who: str, event: str, data: Any) -> None:
        if who in self.gone or (
            not self.clients[who].sio.connected and not self.run(self.connect(who))
        ):
            return
        client = self.clients[who]
        before = self.live_state()
        size = len(msgpack.packb([event, data]))
        try:
            reply = self.run(client.call(event, data))
        except socketio.exceptions.TimeoutError:
            # only a message over the server's limit goes unanswered: it closes that socket
            assert size > SOCKET_MESSAGE_MAX_BYTES, (who, event, size)
            self.run(self.until_closed(client))
            return
        assert isinstance(reply, dict) and ("ok" in reply or "error" in reply), reply
        refused = "error" in reply
        action = data.get("action") if isinstance(data, dict) else None
        action = action if isinstance(action, str) else None
        unauthorised = who == "outsider" or (
            who == "participant" and event == "control" and action not in PARTICIPANT_ACTIONS
        )
        if refused or unauthorised:
            if event != "leave":
                assert self.live_state() == before, (who, event, data, reply)
        if event == "leave" and not refused:
            self.run(client.sio.disconnect())

    @invariant()
    def nothing_broke(self) -> None:
        if not hasattr(self, "clients"):
            return
        bad = [r for r in self.log_records if r.exc_info or r.levelno >= logging.ERROR]
        assert not bad, [r.getMessage() for r in bad]
        lead = self.clients["lead"]
        reply = self.run(lead.call("media_state", {"video": True}))
        assert reply.get("ok") or reply.get("error") == "rate_limited", reply  # 1 a step
        bystander = self.server.live.get(self.sid)
        removed = bystander is None or self.pids["bystander"] not in bystander.session.participants
        if not removed:  # only a leader's allowed `remove` takes them out
            reply = self.run(self.clients["bystander"].call("media_state", {"video": True}))
            assert reply.get("ok") or reply.get("error") in ("forbidden", "rate_limited"), reply

    def teardown(self) -> None:
        for client in getattr(self, "clients", {}).values():
            if client.sio.connected:
                self.run(client.sio.disconnect())


class Records(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


def test_socket_events_fuzz(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    config = make_settings(tmp_path)
    app = create_app(config)
    runner = loop.run_until_complete(start_app(app, config))
    records: list[logging.LogRecord] = []
    handler = Records(records)
    logging.getLogger().addHandler(handler)
    Fuzz.loop, Fuzz.log_records = loop, records
    Fuzz.server = RunningServer(f"http://{config.host}:{config.port}", app, config)
    # every connection comes from 127.0.0.1: lift the join limits (tests/security/ checks them)
    limits = JoinLimits()
    limits.by_address = limits.by_token = SlidingLimit(10**6, 60.0)
    Fuzz.server.live.fanout.sio.namespace_handlers["/"].join_limits = limits
    try:
        Fuzz.TestCase.settings = settings(
            max_examples=100,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            database=None,
            phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure shows at once
            suppress_health_check=list(HealthCheck),
        )
        Fuzz.TestCase().runTest()
    finally:
        logging.getLogger().removeHandler(handler)
        loop.run_until_complete(runner.cleanup())
        loop.close()
