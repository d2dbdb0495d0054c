"""`circle bot` against a real server on loopback: each bot's outcome is reported (joined,
refused with the server's reason, ICE failed), one bot's failure leaves the others running, and
the exit code is non-zero when any bot failed or a joined bot got no media."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.bot.media import EncodedMedia
from server.bot.run import cli_main, run_bots
from server.bot.stats import ICE_FAILED, JOINED
from server.config import MediaConfig
from tests.conftest import RunningServer, serve


def rows(table: str) -> dict[str, str]:
    """The printed table's rows by bot name (`Bot 1` ...)."""
    lines = table.strip().splitlines()
    return {line[:14].strip(): line for line in lines[1:-1]}


async def test_a_refused_bot_is_reported_and_the_others_keep_running(
    tmp_path: Path,
    small_media: EncodedMedia,
    loopback_ice: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with serve(tmp_path, max_participants=2) as server:
        session = await server.create_session("Two seats")
        code = await cli_main(
            session["invite_url"], 3, 4.0, None, None, ["127.0.0.1"], media=small_media
        )

    printed = capsys.readouterr().out
    assert code == 1, printed
    by_name = rows(printed)
    outcomes = sorted(line.split()[3] for line in by_name.values())
    assert outcomes == ["joined", "joined", "refused"], printed
    (refused,) = [line for line in by_name.values() if " refused " in line]
    assert "full: this session is full (2 people)" in refused
    for line in by_name.values():
        if " joined " in line:
            recv_audio, recv_video = (int(n) for n in line.split()[5:7])
            assert recv_audio > 20 and recv_video > 10, printed  # each receives the other
    assert (
        printed.strip()
        .splitlines()[-1]
        .endswith("3 bots: 2 joined, 1 refused, 0 ICE failed, 0 errors; 0 joined without media")
    )


async def test_two_bots_that_join_and_exchange_media_exit_zero(
    circle_server: RunningServer, small_media: EncodedMedia, loopback_ice: None
) -> None:
    session = await circle_server.create_session("Pair")
    report = await run_bots(session["invite_url"], 2, 3.0, media=small_media)
    assert [b.outcome for b in report.bots] == [JOINED, JOINED]
    assert all(min(b.received.values()) > 0 and min(b.sent.values()) > 0 for b in report.bots)
    assert report.exit_code == 0, report.table()


async def test_a_bot_alone_receives_no_media_and_that_is_a_failure(
    circle_server: RunningServer, small_media: EncodedMedia, loopback_ice: None
) -> None:
    session = await circle_server.create_session("Alone")
    report = await run_bots(session["invite_url"], 1, 2.0, media=small_media)
    (bot,) = report.bots
    assert bot.outcome == JOINED and sum(bot.sent.values()) > 0
    assert bot.media_problem == "received no media"
    assert report.exit_code == 1
    assert "received no media" in report.table()


async def test_a_bot_whose_ice_cannot_connect_is_reported_ice_failed(
    tmp_path: Path, small_media: EncodedMedia, loopback_ice: None
) -> None:
    # The server takes remote candidates only from a network the bot is not on (TEST-NET-1).
    # One bot: with two, the first one's failure ends the session while the second joins (a
    # server race, reported to the lead), and the second is refused `not_joined`.
    media = MediaConfig(slots_per_kind=15, remote_networks=("192.0.2.0/24",))
    async with serve(tmp_path, media=media) as server:
        session = await server.create_session("Unreachable")
        report = await run_bots(
            session["invite_url"], 1, 1.0, media=small_media, connect_limit_s=8.0
        )

    (bot,) = report.bots
    assert bot.outcome == ICE_FAILED, report.table()
    assert bot.participant_id is not None  # it had joined
    assert bot.detail.startswith("publish: ICE failed, failed"), bot.detail
    assert report.exit_code == 1
    assert (
        report.table()
        .strip()
        .splitlines()[-1]
        .endswith("1 bot: 0 joined, 0 refused, 1 ICE failed, 0 errors; 0 joined without media")
    )
