"""A private network namespace for a benchmark: this process enters it, so the servers and bots
it starts run there, on one TEST-NET address, with nothing reaching any real network.

Janus (libnice) gathers no ICE candidates on loopback interfaces, so the address sits on a
non-loopback device that goes nowhere: an `ifb` device (kernel module ifb, created in the
namespace). Everything is torn down on leaving, also on an error or ^C. Needs root and iproute2.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import subprocess
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
ADDRESS = "198.51.100.1"  # TEST-NET-2 (RFC 5737): never routed
NETWORK = "198.51.100.0/24"
DEVICE = "ifb0"


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


@contextlib.contextmanager
def inside_namespace() -> Iterator[str]:
    """Enter a fresh namespace holding `ADDRESS` on `DEVICE` (and loopback up); yields its name.
    Call before starting any thread: setns moves only the calling thread, and children inherit
    it from the thread that starts them."""
    if os.geteuid() != 0:
        raise PermissionError("a network namespace needs root")
    name = f"circle-bench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        inside = ["ip", "netns", "exec", name]
        for command in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", DEVICE, "type", "ifb"],
            ["ip", "addr", "add", f"{ADDRESS}/24", "dev", DEVICE],
            ["ip", "link", "set", DEVICE, "up"],
        ):
            subprocess.run([*inside, *command], check=True)
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield name
        finally:
            _setns(home)
    finally:
        os.close(home)
        subprocess.run(["ip", "netns", "del", name], check=False)
