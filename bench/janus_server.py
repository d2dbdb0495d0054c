"""Debian's Janus (VideoRoom plugin, HTTP transport, nothing else) for bench/against_janus.py:
installed when missing, configured in a temp dir, started pinned to a core, stopped.

ICE gathers only on one device (the benchmark namespace's), no STUN, half trickle: Janus puts its
candidates in its SDP, as aiortc needs (aiortc does not trickle either).
"""

from __future__ import annotations

import contextlib
import glob
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.harness import LOOPBACK, answers_http, log_tail, pinned, stop_process, wait_ready

PACKAGE = "janus"
PLUGIN = "libjanus_videoroom.so"
TRANSPORT = "libjanus_http.so"
MODULE_KINDS = ("plugins", "transports", "events", "loggers")

JcfgValue = str | int | bool


def ensure_installed() -> str:
    """The janus binary; `apt-get install -y janus` first when it is missing (said on stdout)."""
    found = shutil.which("janus")
    if found:
        return found
    print("janus is not installed: installing Debian's package (apt-get install -y janus)")
    install = ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]
    if subprocess.run(install, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(install, check=True)
    found = shutil.which("janus")
    if not found:
        raise RuntimeError("apt-get installed janus but there is no janus binary on PATH")
    return found


def module_root() -> Path:
    """Where Debian puts Janus's plugins, transports, event handlers and loggers."""
    roots = sorted(glob.glob("/usr/lib/*/janus/plugins"))
    if not roots:
        raise RuntimeError("no Janus plugins folder under /usr/lib/*/janus")
    return Path(roots[0]).parent


def render_jcfg(sections: Mapping[str, Mapping[str, JcfgValue]]) -> str:
    """Janus's libconfig format: `name: { key = value ... }` per section."""
    lines = []
    for section, items in sections.items():
        lines.append(f"{section}: {{")
        for key, value in items.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int):
                text = str(value)
            else:
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            lines.append(f"\t{key} = {text}")
        lines.append("}")
    return "\n".join(lines) + "\n"


def janus_configs(
    config_dir: Path,
    modules: Path,
    available: Mapping[str, list[str]],
    *,
    http_port: int,
    ice_device: str,
    ice_address: str,
    rtp_ports: tuple[int, int] = (20_000, 40_000),
    debug_level: int = 4,
) -> dict[str, str]:
    """File name -> text of a Janus configuration loading only the VideoRoom plugin and the
    plain HTTP transport (on 127.0.0.1:`http_port`), gathering ICE on `ice_device` only (whose
    address is `ice_address`: Janus's own guess needs a default route), no STUN, no mDNS.
    `available` lists each module kind's .so files: all but the wanted two are disabled, as
    Janus loads every module it finds unless told not to."""
    keep = {PLUGIN, TRANSPORT}
    general: dict[str, JcfgValue] = {
        "configs_folder": str(config_dir),
        **{f"{kind}_folder": str(modules / kind) for kind in MODULE_KINDS},
        "interface": ice_address,
        "debug_level": debug_level,
        "session_timeout": 120,
        "server_name": "circle-bench",
    }
    sections: dict[str, dict[str, JcfgValue]] = {
        "general": general,
        "certificates": {},
        "media": {"rtp_port_range": f"{rtp_ports[0]}-{rtp_ports[1]}"},
        "nat": {
            "nice_debug": False,
            "full_trickle": False,
            "ice_lite": False,
            "ignore_mdns": True,
            "ice_enforce_list": ice_device,
        },
        "events": {"broadcast": False},
    }
    for kind in ("plugins", "transports", "loggers"):
        disabled = sorted(name for name in available.get(kind, []) if name not in keep)
        sections[kind] = {"disable": ",".join(disabled)} if disabled else {}
    return {
        "janus.jcfg": render_jcfg(sections),
        "janus.plugin.videoroom.jcfg": render_jcfg({"general": {}}),
        "janus.transport.http.jcfg": render_jcfg(
            {
                "general": {
                    "json": "plain",
                    "base_path": "/janus",
                    "http": True,
                    "port": http_port,
                    "ip": LOOPBACK,
                    "https": False,
                },
                "admin": {"admin_http": False, "admin_https": False},
            }
        ),
    }


def available_modules(modules: Path) -> dict[str, list[str]]:
    return {kind: sorted(p.name for p in (modules / kind).glob("*.so")) for kind in MODULE_KINDS}


@dataclass
class JanusProcess:
    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:port/janus
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def running_janus(
    workdir: Path, *, http_port: int, ice_device: str, ice_address: str, core: int | None
) -> Iterator[JanusProcess]:
    """Janus configured in `workdir`, polled on /janus/info until it answers; stopped after."""
    binary = ensure_installed()
    config_dir = workdir / "janus-conf"
    config_dir.mkdir(parents=True, exist_ok=True)
    modules = module_root()
    configs = janus_configs(
        config_dir,
        modules,
        available_modules(modules),
        http_port=http_port,
        ice_device=ice_device,
        ice_address=ice_address,
    )
    for name, text in configs.items():
        (config_dir / name).write_text(text)
    log = workdir / "janus.log"
    command = [binary, "-F", str(config_dir), "-C", str(config_dir / "janus.jcfg"), "-o"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            pinned(core, command), stdout=sink, stderr=subprocess.STDOUT, cwd=workdir
        )
    janus = JanusProcess(process, f"http://{LOOPBACK}:{http_port}/janus", log)
    try:
        if not wait_ready(process, answers_http(janus.url + "/info"), 20.0, 0.2):
            raise RuntimeError(f"janus did not start: {log_tail(log)}")
        yield janus
    finally:
        stop_process(process)
