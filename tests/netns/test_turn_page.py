"""A Chromium participant whose network drops every UDP packet (a hospital's or a company's
firewall) still joins and has media both ways: through Debian's coturn over TCP, and over TLS,
with the time-limited credentials Circle hands each page (`use-auth-secret`).

The link to the page's namespace drops all UDP (tests/netns/impaired_link.py, `udp_blocked`);
coturn, started here, listens on this side of it and relays to the server over UDP on this
side. The browser runs in a child process inside the namespace (tests/netns/far_page.py); a
bot on this side publishes and watches."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.bot.client import Bot
from server.bot.media import EncodedMedia
from server.config import TurnConfig
from tests.conftest import until
from tests.edge.tls import self_signed
from tests.netns.conftest import run_inside, serve_on_link, stop_child
from tests.netns.far_bot import read
from tests.netns.impaired_link import ImpairedLink

SECRET = "coturn-static-auth-secret-for-the-udp-blocked-test"
TURN_TCP_PORT, TURN_TLS_PORT = 3478, 5349
RELAY_PORTS = (49_160, 49_200)


@contextlib.contextmanager
def coturn(address: str, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's coturn on `address`: TURN over TCP and TLS (a self-signed certificate), the
    TURN REST API secret Circle signs with, relays on `address` too; stopped at the end."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is not installed (scripts/setup.sh --test installs it)")
    cert, key = self_signed(folder)
    args = [
        binary, "-n", "--no-cli", "--simple-log", f"--log-file={folder / 'turn.log'}",
        f"--pidfile={folder / 'turn.pid'}", f"--userdb={folder / 'turndb'}",
        f"--listening-ip={address}", f"--relay-ip={address}",
        f"--listening-port={TURN_TCP_PORT}", f"--tls-listening-port={TURN_TLS_PORT}",
        f"--min-port={RELAY_PORTS[0]}", f"--max-port={RELAY_PORTS[1]}",
        "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=circle.test",
        f"--cert={cert}", f"--pkey={key}", "--no-dtls", "--fingerprint",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def listening(address: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(address, port)
    except OSError:
        return False
    writer.close()
    return True


@pytest.mark.parametrize("transport", ["tcp", "tls"])
async def test_a_page_with_udp_blocked_joins_through_turn_with_media_both_ways(
    transport: str, link: ImpairedLink, small_media: EncodedMedia, tmp_path: Path
) -> None:
    link.udp_blocked = True
    near = link.near_ip
    url = (
        f"turn:{near}:{TURN_TCP_PORT}?transport=tcp"
        if transport == "tcp"
        else f"turns:{near}:{TURN_TLS_PORT}?transport=tcp"
    )
    with coturn(near, tmp_path) as turn:
        port = TURN_TCP_PORT if transport == "tcp" else TURN_TLS_PORT
        for _ in range(50):
            if await listening(near, port):
                break
            assert turn.poll() is None, (tmp_path / "turn.log").read_text()
            await asyncio.sleep(0.1)
        async with serve_on_link(link, tmp_path, TurnConfig(SECRET, (url,), 600)) as server:
            session = await server.create_session("Firewalled")
            lead = Bot(session["facilitator_url"], "Lead", small_media)
            await lead.start()
            page = tmp_path / "page.json"
            # the certificate is self-signed: Chromium checks a TURN server's TLS certificate
            child = await run_inside(
                link,
                ["-m", "tests.netns.far_page", session["invite_url"], "Sam", str(page), "150",
                 "--ignore-certificate-errors"],
            )  # fmt: skip
            try:
                await until(lambda: read(page).get("state") == "joined", 60, "the page joins")
                sam = read(page)["participant_id"]
                for kind in ("audio", "video"):
                    await until(
                        lambda kind=kind: lead.received(kind, sam) > 50,  # type: ignore[misc]
                        40,
                        f"the lead gets Sam's {kind} ({read(page)})",
                    )
                    await until(
                        lambda kind=kind: read(page).get("received", {}).get(kind, 0) > 50,  # type: ignore[misc]
                        30,
                        f"Sam's page gets the lead's {kind} ({read(page)})",
                    )
                view = read(page)
                relayed = ["relay", "tls" if transport == "tls" else "tcp"]
                assert view["candidates"] == {"publish": relayed, "subscribe": relayed}, view
                assert view["errors"] == []
                assert link.packets["up_dropped"] > 0  # the page did try UDP, and lost it
            finally:
                await stop_child(child)
                await lead.close()
