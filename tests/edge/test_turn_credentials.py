"""TURN credentials from coturn's shared secret (the TURN REST API scheme): the function, with
a vector computed here independently, and the flags that configure it."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from server.cli import build_parser
from server.config import DEFAULT_TURN_TTL_S, MediaConfig, TurnConfig, settings_from_args
from server.ice_servers import for_participant, turn_credentials

pytestmark = pytest.mark.unit


def test_credential_is_base64_hmac_sha1_of_the_username() -> None:
    username, credential = turn_credentials("north-secret", "p_abc", 1_700_000_000)
    assert username == "1700000000:p_abc"
    expected = hmac.new(b"north-secret", b"1700000000:p_abc", hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected
    # the same vector as coturn's documentation computes it with openssl:
    # echo -n 1700000000:p_abc | openssl dgst -binary -sha1 -hmac north-secret | base64
    assert credential == base64.b64encode(expected).decode()


def test_each_participant_gets_their_own_expiring_credentials() -> None:
    turn = TurnConfig("s3cret-value", ("turn:t.example.org:3478?transport=udp",), ttl_s=600)
    media = MediaConfig(ice_servers=("stun:stun.example.org:3478",), turn=turn)
    ana = for_participant(media, "p_ana", now=1000.4)
    ben = for_participant(media, "p_ben", now=1000.4)
    assert ana[0] == {"urls": "stun:stun.example.org:3478"}
    assert ana[1]["urls"] == ["turn:t.example.org:3478?transport=udp"]
    assert ana[1]["username"] == "1600:p_ana" and ben[1]["username"] == "1600:p_ben"
    assert ana[1]["credential"] != ben[1]["credential"]
    assert "s3cret-value" not in repr(ana)


def _settings(*flags: str) -> MediaConfig:
    args = build_parser().parse_args(["serve", "--data-dir", "/nonexistent-circle", *flags])
    return settings_from_args(args).media


def test_flags_configure_turn_and_refuse_half_or_bad_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CIRCLE_SECRET", "x" * 40)  # no secret.key written
    media = _settings("--turn-secret", "s", "--turn-url", "turns:t.example.org:5349")
    assert media.turn == TurnConfig("s", ("turns:t.example.org:5349",), DEFAULT_TURN_TTL_S)
    assert DEFAULT_TURN_TTL_S < 24 * 3600  # shorter than the default link
    for flags, says in [
        (("--turn-secret", "s"), "go together"),
        (("--turn-url", "turn:t.example.org:3478"), "go together"),
        (("--turn-secret", "s", "--turn-url", "stun:t.example.org"), "turn:host:port"),
        (("--turn-secret", "s", "--turn-url", "turn:u:p@t.example.org"), "no user"),
        (("--turn-secret", "s", "--turn-url", "turn:t:1", "--turn-ttl-s", "5"), "at least 60"),
    ]:
        with pytest.raises(SystemExit, match=says):
            _settings(*flags)
