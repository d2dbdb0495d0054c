"""The ICE servers a page gets in its join reply: the configured STUN/TURN URLs, and with
`--turn-secret` its own time-limited TURN credentials (the TURN REST API scheme that coturn
checks with `use-auth-secret` / `static-auth-secret`).

The username is `<expiry unix time>:<participant id>` and the credential is
base64(HMAC-SHA1(secret, username)). coturn recomputes the credential from the username and
refuses it after the expiry, so each page gets its own credentials that lapse by themselves,
and the secret never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from server.config import MediaConfig, TurnConfig
from server.media.peer_setup import ice_server


def turn_credentials(secret: str, participant_id: str, expires_at: int) -> tuple[str, str]:
    """(username, credential) valid until `expires_at` (unix seconds) for this participant."""
    username = f"{expires_at}:{participant_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def turn_ice_server(turn: TurnConfig, participant_id: str, now: float) -> dict[str, object]:
    """The browser's RTCIceServer entry for one participant, valid for `turn.ttl_s`."""
    username, credential = turn_credentials(turn.secret, participant_id, int(now) + turn.ttl_s)
    return {"urls": list(turn.urls), "username": username, "credential": credential}


def configured_ice_server(url: str) -> dict[str, object]:
    """The browser's RTCIceServer for a configured STUN/TURN URL."""
    server = ice_server(url)
    entry: dict[str, object] = {"urls": str(server.urls)}
    if server.username:
        entry["username"] = server.username
        entry["credential"] = str(server.credential)
    return entry


def for_participant(media: MediaConfig, participant_id: str, now: float) -> list[dict[str, object]]:
    servers = [configured_ice_server(url) for url in media.ice_servers]
    if media.turn is not None:
        servers.append(turn_ice_server(media.turn, participant_id, now))
    return servers
