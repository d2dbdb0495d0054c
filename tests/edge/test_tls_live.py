"""`circle serve --tls-cert --tls-key`: pages, REST and the socket over HTTPS without a proxy."""

from __future__ import annotations

import os
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from bench.harness import LOOPBACK, PYTHON, ROOT, free_port, log_tail, stop_process, wait_ready
from tests.edge.tls import self_signed, trusting


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(https base URL, API key, certificate) of a `circle serve` child process."""
    cert, key = self_signed(tmp_path)
    port, api_key = free_port(), secrets.token_urlsafe(16)
    base = f"https://{LOOPBACK}:{port}"
    log = tmp_path / "server.log"
    command = [
        PYTHON, "-m", "server", "serve", "--host", LOOPBACK, "--port", str(port),
        "--data-dir", str(tmp_path / "data"), "--ice-address", LOOPBACK,
        "--tls-cert", str(cert), "--tls-key", str(key),
    ]  # fmt: skip
    env = {**os.environ, "CIRCLE_API_KEY": api_key, "CIRCLE_LOG_LEVEL": "WARNING"}
    context = trusting(cert)

    def answers() -> bool:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1, context=context).close()
        except OSError:
            return False
        return True

    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    try:
        assert wait_ready(process, answers, 30, 0.2), log_tail(log)
        yield base, api_key, cert
    finally:
        stop_process(process)
    assert f"Running on {base}" in log.read_text()  # the printed URL says https


async def test_pages_api_and_socket_over_https(tls_server: tuple[str, str, Path]) -> None:
    base, api_key, cert = tls_server
    connector = aiohttp.TCPConnector(ssl=trusting(cert))
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(base + "/healthz") as health:
            assert health.status == 200
        async with http.get(base + "/") as page:
            assert page.status == 200 and "<html" in (await page.text()).lower()
        async with http.post(  # a browser's same-origin POST: the origin check knows https
            base + "/api/sessions",
            json={"title": "Over TLS", "waiting_room": False},
            headers={"Authorization": f"Bearer {api_key}", "Origin": base},
        ) as created:
            assert created.status == 201, await created.text()
            session = await created.json()
        token = session["invite_url"].split("#t=", 1)[1]
        assert session["invite_url"].startswith(base)
        client = socketio.AsyncClient(serializer="msgpack", reconnection=False, http_session=http)
        await client.connect(
            base, auth={"token": token}, headers={"Origin": base}, transports=["websocket"]
        )
        try:
            joined = await client.call("join", {"name": "Ana"}, timeout=10)
            assert joined["ok"], joined
        finally:
            await client.disconnect()
    with pytest.raises(aiohttp.ClientError):  # plain http is not served on the port
        async with aiohttp.ClientSession() as plain, plain.get(base.replace("https", "http")):
            pass
