"""The join reply carries each participant's own expiring TURN credentials, never the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import replace
from pathlib import Path

from server.config import TurnConfig
from tests.clients import Client, token_of
from tests.conftest import LOOPBACK_ONLY, serve

SECRET = "coturn-static-auth-secret-0123456789"
TURN = TurnConfig(SECRET, ("turn:127.0.0.1:3478?transport=udp", "turns:127.0.0.1:5349"), 3600)


async def test_join_reply_has_per_participant_expiring_turn_credentials(tmp_path: Path) -> None:
    async with serve(tmp_path, media=replace(LOOPBACK_ONLY, turn=TURN)) as server:
        session = await server.create_session()
        replies = []
        for url, name in ((session["facilitator_url"], "Fran"), (session["invite_url"], "Ana")):
            client = Client()
            await client.connect(server, {"token": token_of(url)})
            try:
                before = time.time()
                replies.append((await client.call("join", {"name": name}), before))
            finally:
                await client.sio.disconnect()
    seen = set()
    for reply, before in replies:
        assert SECRET not in repr(reply)
        [entry] = reply["ice_servers"]
        assert entry["urls"] == list(TURN.urls)
        expiry, pid = entry["username"].split(":", 1)
        assert pid == reply["participant_id"]
        assert before + 3600 - 2 <= int(expiry) <= time.time() + 3600
        digest = hmac.new(SECRET.encode(), entry["username"].encode(), hashlib.sha1).digest()
        assert entry["credential"] == base64.b64encode(digest).decode()
        seen.add(entry["credential"])
    assert len(seen) == 2  # no shared password
