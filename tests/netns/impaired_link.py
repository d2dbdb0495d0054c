"""A test host in its own network namespace, joined to this one by an impaired link.

The kernels of these machines have no `sch_netem` ("Specified qdisc kind is unknown"), so the
link is a userspace wire instead of a veth pair with `tc netem`: two TUN devices, one here and
one moved into the namespace, and this process carrying every IP packet between them, dropping
and delaying what leaves the namespace as netem would, and, with a rate, queueing it as a home
router's uplink does: a bottleneck of that rate behind a drop-tail queue of `queue_ms` (packets
that would wait longer are dropped). Both kernels see real interfaces and real
UDP/ICE/RTP traffic; only the wire in between is simulated.

Needs root (CI runs as root) and iproute2. Traffic only ever flows between the two addresses
of the link; the namespace and both devices are removed on close.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import secrets
import struct
import subprocess
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MTU = 1500
IPPROTO_UDP = 17  # an IPv4 header's protocol (byte 9); the link carries IPv4 only


def _tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


@dataclass
class Impairment:
    loss_pct: float = 0.0
    delay_ms: float = 0.0
    rate_kbps: float = 0.0  # the bottleneck's rate (0: none)
    queue_ms: float = 200.0  # its drop-tail queue, as time at that rate


@dataclass
class ImpairedLink:
    """`namespace` holds `far_ip`; this namespace holds `near_ip`. Set `upstream` (what the far
    host sends) to impair it, like netem on the far host's interface."""

    namespace: str
    near_ip: str
    far_ip: str
    subnet: str
    upstream: Impairment = field(default_factory=Impairment)
    # The wire is cut: nothing passes either way (Wi-Fi gone, a lid closed), until it is False.
    cut: bool = False
    # Every UDP packet is dropped either way (a hospital's or a company's firewall): only TCP,
    # and so TURN over TCP or TLS, gets through.
    udp_blocked: bool = False
    packets: dict[str, int] = field(
        default_factory=lambda: {
            "up": 0,
            "up_dropped": 0,
            "up_queue_dropped": 0,  # of those dropped, by the bottleneck's full queue
            "down": 0,
            "down_dropped": 0,
        }
    )
    _up_busy_until: float = 0.0  # when the bottleneck has sent what is queued (loop time)
    _near_fd: int = -1
    _far_fd: int = -1
    _near_dev: str = ""
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    @classmethod
    def create(cls) -> ImpairedLink:
        if os.geteuid() != 0:
            raise PermissionError("a network namespace needs root (CI runs as root)")
        tag = secrets.token_hex(3)
        octet = int(tag[:2], 16) % 200 + 20
        link = cls(f"circle-q-{tag}", f"10.{octet}.77.1", f"10.{octet}.77.2", f"10.{octet}.77.0/24")
        link._near_dev, far_dev = f"cqh{tag}", f"cqb{tag}"
        _ip("netns", "add", link.namespace)
        try:
            link._near_fd, link._far_fd = _tun(link._near_dev), _tun(far_dev)
            _ip("link", "set", far_dev, "netns", link.namespace)
            _ip("addr", "add", f"{link.near_ip}/24", "dev", link._near_dev)
            _ip("link", "set", link._near_dev, "mtu", str(MTU), "up")
            link.run("ip", "addr", "add", f"{link.far_ip}/24", "dev", far_dev)
            link.run("ip", "link", "set", far_dev, "mtu", str(MTU), "up")
            link.run("ip", "link", "set", "lo", "up")
        except BaseException:
            link.close()
            raise
        return link

    def run(self, *args: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.namespace, *args], check=True)

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]

    def start(self) -> None:
        """Carry packets in the running event loop (both directions)."""
        loop = asyncio.get_running_loop()
        loop.add_reader(self._far_fd, self._pump_up, loop)
        loop.add_reader(self._near_fd, self._pump_down)

    def _pump_up(self, loop: asyncio.AbstractEventLoop) -> None:
        while (packet := _read(self._far_fd)) is not None:
            self.packets["up"] += 1
            impairment = self.upstream
            if self._blocked(packet) or self._rng.random() * 100 < impairment.loss_pct:
                self.packets["up_dropped"] += 1
                continue
            wait_s = impairment.delay_ms / 1000
            if impairment.rate_kbps > 0:
                now = loop.time()
                queued_s = max(self._up_busy_until - now, 0.0)
                if queued_s > impairment.queue_ms / 1000:
                    self.packets["up_dropped"] += 1
                    self.packets["up_queue_dropped"] += 1
                    continue
                self._up_busy_until = now + queued_s + len(packet) * 8 / impairment.rate_kbps / 1000
                wait_s += self._up_busy_until - now
            if wait_s > 0:
                loop.call_later(wait_s, _write, self._near_fd, packet)
            else:
                _write(self._near_fd, packet)

    def _pump_down(self) -> None:
        while (packet := _read(self._near_fd)) is not None:
            self.packets["down"] += 1
            if self._blocked(packet):
                self.packets["down_dropped"] += 1
                continue
            _write(self._far_fd, packet)

    def _blocked(self, packet: bytes) -> bool:
        return self.cut or (self.udp_blocked and len(packet) > 9 and packet[9] == IPPROTO_UDP)

    def close(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for fd in (self._near_fd, self._far_fd):
            if fd >= 0:
                if loop is not None:
                    loop.remove_reader(fd)
                os.close(fd)
        self._near_fd = self._far_fd = -1
        subprocess.run(["ip", "netns", "del", self.namespace], check=False)


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, MTU + 64)
    except (BlockingIOError, OSError):
        return None


def _write(fd: int, packet: bytes) -> None:
    try:
        os.write(fd, packet)
    except OSError:
        pass  # the device went away (closing) or is full: a lost packet, like on a wire
