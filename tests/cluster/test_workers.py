"""`circle serve --workers N`: N processes on consecutive ports, each a node in Redis, all
stopped by one SIGTERM; without Redis, more than one worker is refused."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import PYTHON, ROOT, answers_http, free_port, start_server
from tests.conftest import until
from tests.store.conftest import RedisServer


async def test_two_workers_register_and_stop_together(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    args = ["--redis-url", redis_server.url, "--workers", "2", "--node-id", "box"]
    server = await asyncio.to_thread(
        start_server, tmp_path / "data", tmp_path / "workers.log", extra_args=args
    )
    try:
        port = urlsplit(server.base).port
        second = f"http://127.0.0.1:{(port or 0) + 1}/healthz"
        await until(answers_http(second), 20, "the second worker answers")

        def nodes() -> set[str]:
            with redis_server.client() as client:
                return {k.decode() for k in client.scan_iter(match="circle:node:*")}

        await until(lambda: nodes() == {"circle:node:box-0", "circle:node:box-1"}, 10, "nodes")
    finally:
        await asyncio.to_thread(server.stop)
    assert server.process.returncode == 0
    assert not answers_http(second)()
    assert nodes() == set()  # each deregistered on its way out


def test_several_workers_need_redis(tmp_path: Path) -> None:
    command = [PYTHON, "-m", "server", "serve", "--workers", "2", "--port", str(free_port())]
    command += ["--data-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "--workers above 1 needs --redis-url" in done.stderr
