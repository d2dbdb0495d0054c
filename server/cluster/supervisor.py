"""`circle serve --workers N`: N server processes on one machine, each its own node of the
cluster (port + i, its own node id and URL), sharing Redis. Signals are passed on; nothing is
restarted (a service manager restarts the whole). Each worker asks the kernel for SIGTERM when
the supervisor dies, so a supervisor killed outright (SIGKILL, OOM) leaves no worker holding
its port: they drain and exit."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

POLL_S = 0.2
KILL_MARGIN_S = 10.0  # after the drain timeout, a child still running is killed
SUPERVISOR_PID_ENV = "CIRCLE_SUPERVISOR_PID"  # set in each worker's environment
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def worker_url(public_url: str | None, index: int) -> str | None:
    """Worker `index`'s public URL: the given one's port plus `index` (None: its own)."""
    if public_url is None:
        return None
    parts = urlsplit(public_url)
    if parts.port is None or parts.hostname is None:
        raise SystemExit("--workers with --public-url: give its port (worker i uses port + i)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port + index}"))


def worker_commands(
    serve_argv: Sequence[str], count: int, port: int, node_id: str, public_url: str | None
) -> list[list[str]]:
    """Each worker runs `circle serve` with the same flags, the last of each winning."""
    commands = []
    for i in range(count):
        command = [sys.executable, "-m", "server", "serve", *serve_argv]
        command += ["--workers", "1", "--port", str(port + i), "--node-id", f"{node_id}-{i}"]
        url = worker_url(public_url, i)
        if url is not None:
            command += ["--public-url", url]
        commands.append(command)
    return commands


def end_with_supervisor() -> None:
    """In a worker (its supervisor named in the environment): SIGTERM, the drain, from the
    kernel when the supervisor dies, whatever kills it (Linux's parent-death signal; no
    maintained PyPI package wraps prctl)."""
    named = os.environ.get(SUPERVISOR_PID_ENV)
    if not named:
        return  # a lone `circle serve`
    supervisor_pid = int(named)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != supervisor_pid:  # it died before the signal was asked for
        raise SystemExit("the supervisor is gone; this worker does not start")


def supervise(commands: list[list[str]], env: dict[str, str], drain_timeout_s: float) -> int:
    """Start every worker (in its own session: a terminal's ^C reaches them only through
    here, once), pass SIGTERM/SIGINT on, and return when all have exited."""
    env = {**env, SUPERVISOR_PID_ENV: str(os.getpid())}
    children = [subprocess.Popen(c, env=env, start_new_session=True) for c in commands]
    stop_at: list[float] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stop_at.append(time.monotonic())
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    running = set(range(len(children)))
    while running:
        time.sleep(POLL_S)
        for i in sorted(running):
            code = children[i].poll()
            if code is not None:
                running.discard(i)
                if not stop_at:
                    log.warning("worker %d exited (%s); the others go on", i, code)
        if stop_at and time.monotonic() - stop_at[0] > drain_timeout_s + KILL_MARGIN_S:
            for i in running:
                children[i].kill()
    return max((c.returncode or 0 for c in children), default=0)
