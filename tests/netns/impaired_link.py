"""A test host in its own network namespace, joined to this one by an impaired link.

The kernels of these machines have no `sch_netem` ("Specified qdisc kind is unknown"), so the
link is a userspace wire instead of a veth pair with `tc netem`: two TUN devices, one here and
one moved into the namespace, and this process carrying every IP packet between them, dropping
and delaying packets as netem would, and (`rate_kbps`) passing them through a bottleneck with a
drop-tail queue of `queue_ms`, like a home router's (packets that would wait longer are
dropped). Both kernels see real interfaces and real
UDP/ICE/RTP traffic; only the wire in between is simulated.

Needs root (CI runs as root) and iproute2. Traffic only ever flows between the two addresses
of the link; the namespace and both devices are removed on close.
"""

from __future__ import annotations

import fcntl
import heapq
import os
import random
import secrets
import selectors
import struct
import subprocess
import threading
import time
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
    queue_ms: float = 200.0  # the bottleneck's queue: a packet that would wait longer is dropped


@dataclass
class Bottleneck:
    """One direction's bottleneck: when its queue empties (loop time)."""

    free_at: float = 0.0

    def leaves_at(self, now: float, size: int, impairment: Impairment) -> float | None:
        """When a packet of `size` bytes arriving `now` has crossed it; None: dropped."""
        if impairment.rate_kbps <= 0:
            return now
        start = max(now, self.free_at)
        if start - now > impairment.queue_ms / 1000:
            return None
        self.free_at = start + size * 8 / (impairment.rate_kbps * 1000)
        return self.free_at


@dataclass
class ImpairedLink:
    """`namespace` holds `far_ip`; this namespace holds `near_ip`. Set `upstream` (what the far
    host sends) to impair it, like netem on the far host's interface."""

    namespace: str
    near_ip: str
    far_ip: str
    subnet: str
    upstream: Impairment = field(default_factory=Impairment)
    downstream: Impairment = field(default_factory=Impairment)  # what the far host receives
    # The wire is cut: nothing passes either way (Wi-Fi gone, a lid closed), until it is False.
    cut: bool = False
    # Every UDP packet is dropped either way (a hospital's or a company's firewall): only TCP,
    # and so TURN over TCP or TLS, gets through.
    udp_blocked: bool = False
    packets: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("up", "up_dropped", "up_queue_dropped", "down", "down_dropped", "down_queue_dropped"),
            0,
        )
    )
    _near_fd: int = -1
    _far_fd: int = -1
    _near_dev: str = ""
    _rng: random.Random = field(default_factory=lambda: random.Random(7))
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _bottlenecks: dict[str, Bottleneck] = field(
        default_factory=lambda: {"up": Bottleneck(), "down": Bottleneck()}
    )

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
        """Carry packets (both directions) in a thread of its own: in the test's event loop,
        which also runs the server and bots, a busy moment held packets for hundreds of ms,
        a queueing delay no router would add (and a bandwidth estimator would see)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._carry, name="impaired-link", daemon=True)
        self._thread.start()

    def _carry(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._far_fd, selectors.EVENT_READ, ("up", self._near_fd))
        selector.register(self._near_fd, selectors.EVENT_READ, ("down", self._far_fd))
        due: list[tuple[float, int, int, bytes]] = []  # (when, order, target, packet)
        order = 0
        while not self._stop.is_set():
            timeout = max(0.0, due[0][0] - time.monotonic()) if due else 0.05
            for key, _ in selector.select(min(timeout, 0.05)):
                direction, target = key.data
                for at, packet in self._pump(direction, key.fd):
                    heapq.heappush(due, (at, order, target, packet))
                    order += 1
            now = time.monotonic()
            while due and due[0][0] <= now:
                _, _, target, packet = heapq.heappop(due)
                _write(target, packet)
        selector.close()

    def _pump(self, direction: str, source: int) -> list[tuple[float, bytes]]:
        """What came in on `source`, each with when it leaves (dropped ones left out)."""
        impairment = self.upstream if direction == "up" else self.downstream
        leaving = []
        while (packet := _read(source)) is not None:
            self.packets[direction] += 1
            if self._blocked(packet) or self._rng.random() * 100 < impairment.loss_pct:
                self.packets[f"{direction}_dropped"] += 1
                continue
            leaves = self._bottlenecks[direction].leaves_at(
                time.monotonic(), len(packet), impairment
            )
            if leaves is None:
                self.packets[f"{direction}_dropped"] += 1
                self.packets[f"{direction}_queue_dropped"] += 1
                continue
            leaving.append((leaves + impairment.delay_ms / 1000, packet))
        return leaving

    def _blocked(self, packet: bytes) -> bool:
        return self.cut or (self.udp_blocked and len(packet) > 9 and packet[9] == IPPROTO_UDP)

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5)
            self._thread = None
        for fd in (self._near_fd, self._far_fd):
            if fd >= 0:
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
