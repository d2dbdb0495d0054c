"""What the benchmarks and the tests share: a free loopback port, the API's JSON over HTTP, child
processes (a `circle serve`, a `redis-server`) started and polled until they answer, then stopped,
Chromium's path and flags, and the "who receives whom" checks on bots.

It lives in bench/ and the tests import it as `bench.harness`, not the other way round: the
benchmarks are scripts run as `python -m bench.…` and must not need the test tree or pytest,
while the tests already import everything they exercise. So nothing here imports pytest; a
failure is an exception, which fixtures turn into `pytest.fail` where they want to.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from playwright.async_api import Page

    from server.bot.client import Bot

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"
KINDS = ("audio", "video")

CHROMIUM = "/usr/bin/chromium"  # Debian's package; scripts/test.sh installs it
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
]


async def page_value(page: Page, expression: str, timeout_s: float) -> Any:
    """Poll `expression` in the page until it is truthy, and return it; TimeoutError after
    `timeout_s`. Evaluated over the DevTools protocol, as the page's Content-Security-Policy
    (no eval) refuses Playwright's wait_for_function."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        try:
            value = await page.evaluate(expression)
        except Exception:  # navigating, or the page's modules not loaded yet
            value = None
        if value:
            return value
        await asyncio.sleep(0.1)
    raise TimeoutError(expression)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def free_udp_ports(count: int) -> tuple[int, int]:
    """`count` consecutive UDP ports on 127.0.0.1 that were free a moment ago."""
    return free_port_range(count, socket.SOCK_DGRAM)


def free_port_range(count: int, kind: socket.SocketKind) -> tuple[int, int]:
    """`count` consecutive ports of `kind` (TCP or UDP) on 127.0.0.1, free a moment ago."""
    for _ in range(50):
        first = random.randrange(20_000, 60_000)
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, kind)
                held.append(sock)
                sock.bind((LOOPBACK, port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first, first + count - 1
    raise RuntimeError("no free port range found")


def http_json(url: str, key: str, body: dict[str, Any] | None = None) -> Any:
    """GET (or POST `body` as JSON) with the API key; the decoded JSON answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def pinned(core: int | None, command: list[str]) -> list[str]:
    """`command` run on one CPU core (taskset), where there is that core and taskset."""
    if core is not None and shutil.which("taskset") and (os.cpu_count() or 1) > core:
        return ["taskset", "-c", str(core), *command]
    return command


# -- child processes -------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[Any] | None, timeout_s: float = 15.0) -> None:
    """SIGTERM (a clean exit, as under a service manager), SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_ready(
    process: subprocess.Popen[Any], ready: Callable[[], bool], timeout_s: float, every_s: float
) -> bool:
    """Poll `ready()` until it holds (True) or the process exits or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if ready():
            return True
        time.sleep(every_s)
    return False


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started and that are still its children (Linux /proc)."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def is_running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (an orphan's zombie may wait on a reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def answers_http(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            urllib.request.urlopen(url, timeout=1).close()
        except OSError:
            return False
        return True

    return probe


def log_tail(log: Path, chars: int = 2000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


REDIS_SERVER = Path("/usr/bin/redis-server")  # Debian's package; scripts/test.sh installs it
REDIS_START_TIMEOUT_S = 10.0
BACKENDS = ["sqlite", "redis"]


def _redis_binary() -> str:
    if REDIS_SERVER.exists():
        return str(REDIS_SERVER)
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError(
            f"redis-server not found ({REDIS_SERVER} or on PATH): the Redis store is tested "
            "against a real server. Install Debian's redis-server (scripts/test.sh does)."
        )
    return found


class RedisServer:
    """A `redis-server` on 127.0.0.1; `persistent` turns the append-only file on (fsync always)
    so `restart()` shows what a real restart keeps, while per-test servers skip the disk."""

    def __init__(self, workdir: Path, *, persistent: bool) -> None:
        self.workdir = workdir
        self.persistent = persistent
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.workdir / "redis.log"

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        command = [
            _redis_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.workdir),
            "--save", "",
            *(persistence if self.persistent else ["--appendonly", "no"]),
            "--daemonize", "no",
            "--logfile", str(self.log),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1) as client:

            def answers() -> bool:
                try:
                    return bool(client.ping())
                except redis.exceptions.ConnectionError:
                    return False

            if wait_ready(self._process, answers, REDIS_START_TIMEOUT_S, 0.02):
                return
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log_tail(self.log)}")

    def stop(self) -> None:
        """SIGTERM: Redis flushes the append-only file and exits, as under a service manager."""
        process, self._process = self._process, None
        stop_process(process, timeout_s=10)

    def restart(self) -> None:
        self.stop()
        self.start()  # same port and --dir: the same server, as far as clients can tell

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


@dataclass
class ServerProcess:
    """A Circle server in a child process, on 127.0.0.1, with its own API key."""

    process: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:port
    key: str  # the API key
    log: Path  # its stderr

    @property
    def pid(self) -> int:
        return self.process.pid

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return http_json(self.base + path, self.key, body)

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    data_dir: Path,
    log: Path,
    *,
    module: str = "server",
    extra_args: Sequence[str] = (),
    core: int | None = None,
    timeout_s: float = 20.0,
    port: int | None = None,
    key: str | None = None,
    env: dict[str, str] | None = None,
    ice_address: str = LOOPBACK,
    ice_network: str = "127.0.0.0/8",
) -> ServerProcess:
    """`python -m server serve` (or a `module` taking the same flags) on a free loopback port
    (or `port`, say to restart one), ICE host candidates on `ice_address` only, taking remote
    ones in `ice_network`, polled on /healthz until it answers. `env` adds to (or overrides)
    its environment."""
    port, key = port or free_port(), key or secrets.token_urlsafe(16)
    env = {**os.environ, "CIRCLE_API_KEY": key, "CIRCLE_LOG_LEVEL": "WARNING", **(env or {})}
    command = [
        PYTHON, "-m", module, *(["serve"] if module == "server" else []),
        "--host", LOOPBACK,
        "--port", str(port),
        "--data-dir", str(data_dir),
        "--ice-address", ice_address,
        "--ice-remote-network", ice_network,
        *extra_args,
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            pinned(core, command), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink
        )
    server = ServerProcess(process, f"http://{LOOPBACK}:{port}", key, log)
    if not wait_ready(process, answers_http(server.base + "/healthz"), timeout_s, 0.2):
        server.stop()
        raise RuntimeError(f"server did not start: {log_tail(log)}")
    return server


# -- bots --------------------------------------------------------------------------------------


def hears_all(
    bot: Bot, others: list[Bot], at_least: dict[tuple[str, str], int] | None = None
) -> bool:
    """`bot` receives audio and video from each of `others` (more than `at_least` of it)."""
    floor = at_least or {}
    return all(
        bot.received(kind, other.participant_id) > floor.get((kind, other.participant_id or ""), 0)
        for other in others
        for kind in KINDS
    )


def everyone_hears_everyone(bots: list[Bot]) -> bool:
    return all(hears_all(b, [o for o in bots if o is not b]) for b in bots)
