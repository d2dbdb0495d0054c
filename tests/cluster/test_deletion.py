"""Issue 26, finding 4: a session's data cannot be deleted through a node of the cluster that
does not run it while it runs on another, or while a node has claimed it (a join under way);
once it has ended, the deletion holds (nothing comes back under the deleted session)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import socketio

from bench.harness import ServerProcess
from tests.clients import token_of
from tests.cluster.conftest import cluster_of, open_group
from tests.conftest import until
from tests.store.conftest import RedisServer


def delete(node: ServerProcess, session_id: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{node.base}/api/sessions/{session_id}",
        method="DELETE",
        headers={"Authorization": f"Bearer {node.key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


async def join_where_it_runs(base: str, token: str) -> socketio.AsyncClient:
    """The facilitator's socket on the node that owns the session (following `elsewhere`)."""
    for _ in range(2):
        sio = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        await sio.connect(base, auth={"token": token}, transports=["websocket"])
        reply = await sio.call("join", {"name": "Lead"}, timeout=10)
        if reply.get("error") != "elsewhere":
            assert "participant_id" in reply, reply
            return sio
        await sio.disconnect()
        base = reply["url"]
    raise AssertionError("sent elsewhere twice")


async def test_a_running_session_is_deleted_nowhere_until_it_ends(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with cluster_of(redis_server, tmp_path) as cluster:
        a, b = await cluster.two_nodes()
        session = open_group(a)
        sid = session["session_id"]
        # claimed by a node, as a join does first, before any state of it is saved
        with redis_server.client() as client:
            client.set(f"circle:owner:{sid}", "n0", px=60_000)
        status, refused = await asyncio.to_thread(delete, b, sid)
        assert (status, refused["error"]) == (409, "live")
        with redis_server.client() as client:
            client.delete(f"circle:owner:{sid}")
        lead = await join_where_it_runs(a.base, token_of(session["facilitator_url"]))
        try:
            owner_url = cluster.owner_url(sid)
            owner, other = (a, b) if owner_url == a.base else (b, a)
            assert owner.base == owner_url
            for node in (other, owner):
                status, refused = await asyncio.to_thread(delete, node, sid)
                assert (status, refused["error"]) == (409, "live"), node.base
            assert owner.api(f"/api/sessions/{sid}")["session_id"] == sid  # all still there

            ended = await lead.call("control", {"action": "end"}, timeout=10)
            assert ended.get("ok"), ended
            await until(lambda: cluster.owner_url(sid) is None, 15, "the owner lets it go")

            async def deleted() -> bool:
                return (await asyncio.to_thread(delete, other, sid))[0] == 200

            deadline = asyncio.get_running_loop().time() + 15
            while not await deleted():  # the end is saved on the owner first
                assert asyncio.get_running_loop().time() < deadline, "never deletable"
                await asyncio.sleep(0.5)
        finally:
            await lead.disconnect()
        await asyncio.sleep(3)  # a couple of heartbeats and saves: nothing comes back
        for node in (a, b):
            try:
                node.api(f"/api/sessions/{sid}")
            except urllib.error.HTTPError as missing:
                assert missing.code == 404
            else:
                raise AssertionError(f"{node.base} still has the deleted session")
        with redis_server.client() as client:
            left = [k.decode() for k in client.scan_iter(match=f"*{sid}*")]
        assert left == [], left
