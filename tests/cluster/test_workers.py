"""`circle serve --workers N`: N processes on consecutive ports, each a node in Redis, all
stopped by one SIGTERM, and ending with their supervisor however it dies; without Redis, more
than one worker is refused."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import (
    PYTHON,
    ROOT,
    ServerProcess,
    answers_http,
    child_pids,
    free_port,
    free_port_range,
    is_running,
    start_server,
)
from tests.conftest import until
from tests.store.conftest import RedisServer


async def two_workers(
    redis: RedisServer, tmp_path: Path, log: str, port: int | None = None, key: str | None = None
) -> tuple[ServerProcess, str]:
    """`circle serve --workers 2` (on `port` and `port` + 1 if given), once both answer; and
    the second worker's /healthz."""
    args = ["--redis-url", redis.url, "--workers", "2", "--node-id", "box"]
    if port is None:  # the second worker takes the next port: both must be free
        port, _ = free_port_range(2, socket.SOCK_STREAM)
    server = await asyncio.to_thread(
        start_server, tmp_path / "data", tmp_path / log, extra_args=args, port=port, key=key
    )
    second = f"http://127.0.0.1:{(urlsplit(server.base).port or 0) + 1}/healthz"
    try:
        await until(answers_http(second), 20, "the second worker answers")
    except AssertionError:
        await asyncio.to_thread(server.stop)
        raise
    return server, second


async def test_two_workers_register_and_stop_together(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    server, second = await two_workers(redis_server, tmp_path, "workers.log")
    try:

        def nodes() -> set[str]:
            with redis_server.client() as client:
                return {k.decode() for k in client.scan_iter(match="circle:node:*")}

        await until(lambda: nodes() == {"circle:node:box-0", "circle:node:box-1"}, 10, "nodes")
    finally:
        await asyncio.to_thread(server.stop)
    assert server.process.returncode == 0
    assert not answers_http(second)()
    assert nodes() == set()  # each deregistered on its way out


async def test_workers_end_with_a_killed_supervisor_and_a_new_one_takes_their_ports(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    server, second = await two_workers(redis_server, tmp_path, "first.log")
    workers: list[int] = []
    try:
        workers = child_pids(server.pid)
        assert len(workers) == 2

        server.process.kill()  # SIGKILL: the supervisor cannot pass anything on
        await asyncio.to_thread(server.process.wait)
        # each drains (nothing running here) and exits; margin for a loaded machine
        await until(lambda: not any(map(is_running, workers)), 30, "no worker survives")
        assert not answers_http(second)()

        port = urlsplit(server.base).port
        again, _ = await two_workers(redis_server, tmp_path, "second.log", port, server.key)
        try:
            assert len(child_pids(again.pid)) == 2
        finally:
            await asyncio.to_thread(again.stop)
        assert again.process.returncode == 0
    finally:
        await asyncio.to_thread(server.stop)
        for pid in filter(is_running, workers):  # survivors of a failed run: ours to end
            os.kill(pid, signal.SIGKILL)


def test_several_workers_need_redis(tmp_path: Path) -> None:
    command = [PYTHON, "-m", "server", "serve", "--workers", "2", "--port", str(free_port())]
    command += ["--data-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "--workers above 1 needs --redis-url" in done.stderr
