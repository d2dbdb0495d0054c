"""Server settings: command-line flags, each with an environment variable behind it."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from server.logs import LOG_FORMATS

# A group block of an IOP lasts about 3 h; coturn checks the username's expiry at every
# Allocate and Refresh, so credentials must outlive the longest session a page joins (a
# reconnect joins again and gets new ones). Twice the block, and under the 24 h link.
DEFAULT_TURN_TTL_S = 6 * 3600


@dataclass(frozen=True)
class TurnConfig:
    """A TURN server with coturn's `use-auth-secret`: browsers get time-limited credentials
    derived from the shared secret (server/turn.py), never the secret itself."""

    secret: str
    urls: tuple[str, ...]  # turn:host:3478?transport=udp, turns:host:5349?transport=tcp
    ttl_s: int = DEFAULT_TURN_TTL_S


@dataclass(frozen=True)
class MediaConfig:
    """Settings of the media plane (server/media/)."""

    ice_servers: tuple[str, ...] = ()  # e.g. "stun:host:3478", "turn:user:pass@host:3478"
    announced_ip: str | None = None
    remote_networks: tuple[str, ...] = ()  # allowed remote candidate networks; empty: any
    slots_per_kind: int = 15  # a subscriber sees up to this many others (room size - 1)
    max_sdp_bytes: int = 65_536
    turn: TurnConfig | None = None  # per-participant TURN credentials (server/turn.py)
    ice_port_range: tuple[int, int] | None = None  # host candidates bind only these UDP ports
    compiled_send: bool = True  # send with server/media/_rtp_send.c when it was built
    # Accept transport-wide congestion control from publishers that offer it (browsers): their
    # own estimator sets their rate from the server's feedback. Off: REMB from aiortc's
    # estimator, as before (kept to measure one against the other, bench.uplink).
    transport_cc: bool = True
    # Datagrams aioice holds for a connection until its DTLS transport reads them (an offer not
    # yet answered, a handshake under way): anyone can send them, so the queue is bounded.
    # WebRTC's are at most ~1,200 bytes, and a handshake needs a few.
    queued_datagrams_max: int = 256
    queued_datagram_bytes_max: int = 262_144
    subscribe_answer_timeout_s: float = 30.0  # an offer unanswered this long is closed
    budget_replan_s: float = 0.5  # a downlink estimate re-plans video at most this often


def default_node_id() -> str:
    """This process, among the others sharing a Redis: its host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str = ""
    secret: str = ""  # signs tokens; kept in the data dir so links survive a restart
    data_dir: Path = Path("data")
    redis_url: str | None = None  # set: accounts, groups, sessions and audit live in Redis
    # The CPU (in cores, measured over the last seconds) from which a node takes no new
    # session. One event loop saturates one core; the rest is the running rooms' margin to
    # grow (late joiners), and the new session's own (docs/cluster.md: a 12-person group
    # costs 0.12-0.39 core, at 9-31 us per forwarded packet).
    capacity_cores: float = 0.7
    drain_timeout_s: float = 30.0  # SIGTERM: pages are moved to other processes within this
    public_url: str | None = None  # base of the links; default: the request's own origin
    token_ttl_hours: float = 24.0
    retention_days: float = 90.0  # session summaries (and their audit log) are purged after this
    max_participants: int = 16
    reconnect_grace_s: float = 60.0  # a participant whose connection drops keeps their place
    empty_session_final_s: float = 900.0  # an empty session's summary becomes final after this
    ice_host_addresses: tuple[str, ...] = ()  # empty: every interface (aioice's default)
    # proxies (addresses or networks) whose X-Forwarded-For names the client; empty: none
    trusted_proxies: tuple[str, ...] = ()
    tls_cert: Path | None = None  # both set: HTTPS on --port without a proxy
    tls_key: Path | None = None
    media: MediaConfig = field(default_factory=MediaConfig)
    node_id: str = field(default_factory=default_node_id)  # the `process` of metrics and logs
    static_dir: Path = Path(__file__).resolve().parent.parent / "static"
    vendor_dir: Path = Path(__file__).resolve().parent.parent / "node_modules"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument("--data-dir", default=env("CIRCLE_DATA_DIR", "data"))
    parser.add_argument(
        "--redis-url", default=env("REDIS_URL"), help="keep data in Redis instead of SQLite"
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument("--host", default=env("CIRCLE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("PORT", env("CIRCLE_PORT", "8080"))))
    add_store_arguments(parser)
    parser.add_argument("--public-url", default=env("CIRCLE_PUBLIC_URL"), help="base URL for links")
    parser.add_argument(
        "--capacity-cores",
        type=float,
        default=float(env("CIRCLE_CAPACITY_CORES", "0.7")),
        help="a process using this much CPU (1: a core) takes no new session; a full cluster "
        "refuses them",
    )
    parser.add_argument(
        "--drain-timeout-s",
        type=float,
        default=float(env("CIRCLE_DRAIN_TIMEOUT_S", "30")),
        help="on SIGTERM, time given to move this process's participants elsewhere",
    )
    parser.add_argument(
        "--ice-server",
        action="append",
        default=list(_csv(env("CIRCLE_ICE_SERVERS"))),
        help="STUN/TURN URL, repeatable (turn:user:pass@host:port); none by default",
    )
    parser.add_argument(
        "--public-ip", default=env("CIRCLE_PUBLIC_IP"), help="address announced in ICE candidates"
    )
    parser.add_argument(
        "--ice-address",
        action="append",
        default=list(_csv(env("CIRCLE_ICE_ADDRESSES"))),
        help="gather ICE host candidates only on this local address (repeatable)",
    )
    parser.add_argument(
        "--ice-remote-network",
        action="append",
        default=list(_csv(env("CIRCLE_ICE_REMOTE_NETWORKS"))),
        help="accept remote ICE candidates only in this network, e.g. 127.0.0.0/8 (repeatable)",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=list(_csv(env("CIRCLE_TRUSTED_PROXIES"))),
        help="a reverse proxy (address or network) whose X-Forwarded-For is believed",
    )
    parser.add_argument(
        "--max-participants", type=int, default=int(env("CIRCLE_MAX_PARTICIPANTS", "16"))
    )
    parser.add_argument(
        "--reconnect-grace-s",
        type=float,
        default=float(env("CIRCLE_RECONNECT_GRACE_S", "60")),
        help="a participant whose connection drops keeps their place this long",
    )
    parser.add_argument(
        "--empty-session-final-s",
        type=float,
        default=float(env("CIRCLE_EMPTY_SESSION_FINAL_S", "900")),
        help="a session everyone has left is summarised as final after this long",
    )
    parser.add_argument(
        "--node-id",
        default=env("CIRCLE_NODE_ID"),
        help="this process's name in the cluster, metrics and logs; default: <host name>-<pid>",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=env("CIRCLE_LOG_FORMAT", "text"),
        help="json: one JSON object per line, for a log collector",
    )
    parser.add_argument(
        "--token-ttl-hours", type=float, default=float(env("CIRCLE_TOKEN_TTL_HOURS", "24"))
    )
    parser.add_argument(
        "--retention-days",
        type=float,
        default=float(env("CIRCLE_RETENTION_DAYS", "90")),
        help="keep session summaries and audit logs this long",
    )
    _add_network_edge_arguments(parser)


def _add_network_edge_arguments(parser: argparse.ArgumentParser) -> None:
    """HTTPS, TURN and the ICE port range: what reaching the server from outside needs
    (docs/deploy.md)."""
    env = os.environ.get
    parser.add_argument("--tls-cert", default=env("CIRCLE_TLS_CERT"), help="PEM certificate chain")
    parser.add_argument("--tls-key", default=env("CIRCLE_TLS_KEY"), help="PEM private key")
    parser.add_argument(
        "--turn-secret",
        default=env("CIRCLE_TURN_SECRET"),
        help="coturn's static-auth-secret: each participant gets time-limited credentials",
    )
    parser.add_argument(
        "--turn-url",
        action="append",
        default=list(_csv(env("CIRCLE_TURN_URLS"))),
        help="turn:/turns: URL of that TURN server, repeatable (no credentials in it)",
    )
    parser.add_argument(
        "--turn-ttl-s",
        type=int,
        default=int(env("CIRCLE_TURN_TTL_S", str(DEFAULT_TURN_TTL_S))),
        help="how long a participant's TURN credentials stay valid",
    )
    parser.add_argument(
        "--ice-port-range",
        default=env("CIRCLE_ICE_PORT_RANGE"),
        help="bind ICE host candidates only to these UDP ports, e.g. 40000-40999",
    )
    parser.add_argument(
        "--no-compiled-send",
        dest="compiled_send",
        action="store_false",
        default=env("CIRCLE_COMPILED_SEND", "1") != "0",
        help="send forwarded media with the pure-Python writer even where the compiled one "
        "was built (for comparison)",
    )


def port_range(text: str) -> tuple[int, int]:
    """`40000-40999` -> (40000, 40999); SystemExit with the reason when malformed."""
    low, dash, high = text.partition("-")
    try:
        first, last = int(low), int(high)
    except ValueError:
        first = last = 0
    if not dash or not 1024 <= first <= last <= 65535:
        raise SystemExit(
            f"--ice-port-range {text!r}: give FIRST-LAST, 1024 <= FIRST <= LAST <= 65535"
        )
    return first, last


def _turn_config(args: argparse.Namespace, token_ttl_hours: float) -> TurnConfig | None:
    if not args.turn_secret and not args.turn_url:
        return None
    if not args.turn_secret or not args.turn_url:
        raise SystemExit("--turn-secret and --turn-url go together")
    for url in args.turn_url:
        scheme, _, rest = url.partition(":")
        if scheme not in ("turn", "turns") or not rest or "@" in rest:
            raise SystemExit(f"--turn-url {url!r}: turn:host:port or turns:host:port, no user")
    if not 60 <= args.turn_ttl_s <= token_ttl_hours * 3600:
        raise SystemExit("--turn-ttl-s: at least 60 and at most the link's --token-ttl-hours")
    return TurnConfig(args.turn_secret, tuple(args.turn_url), args.turn_ttl_s)


def _tls_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    for path in (args.tls_cert, args.tls_key):
        if path and not Path(path).is_file():
            raise SystemExit(f"TLS file {path} not found")
    return (Path(args.tls_cert), Path(args.tls_key)) if args.tls_cert else (None, None)


def _load_secret(data_dir: Path) -> str:
    configured = os.environ.get("CIRCLE_SECRET")
    if configured:
        return configured
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


MAX_TOKEN_TTL_HOURS = 24 * 31  # a link lives at most a month after its session's start


def settings_from_args(args: argparse.Namespace) -> Settings:
    if not args.capacity_cores > 0:
        raise SystemExit("--capacity-cores: more than 0 (1: one core)")
    if not 0 < args.token_ttl_hours <= MAX_TOKEN_TTL_HOURS:
        raise SystemExit(f"--token-ttl-hours: more than 0 and at most {MAX_TOKEN_TTL_HOURS}")
    data_dir = Path(args.data_dir)
    tls_cert, tls_key = _tls_files(args)  # every flag checked before anything is written
    turn = _turn_config(args, args.token_ttl_hours)
    ice_ports = port_range(args.ice_port_range) if args.ice_port_range else None
    return Settings(
        host=args.host,
        port=args.port,
        api_key=os.environ.get("CIRCLE_API_KEY") or secrets.token_urlsafe(24),
        secret=_load_secret(data_dir),
        data_dir=data_dir,
        redis_url=args.redis_url or None,
        capacity_cores=args.capacity_cores,
        drain_timeout_s=args.drain_timeout_s,
        public_url=args.public_url,
        token_ttl_hours=args.token_ttl_hours,
        retention_days=args.retention_days,
        max_participants=args.max_participants,
        reconnect_grace_s=args.reconnect_grace_s,
        empty_session_final_s=args.empty_session_final_s,
        ice_host_addresses=tuple(args.ice_address),
        node_id=args.node_id or default_node_id(),
        trusted_proxies=tuple(args.trusted_proxy),
        tls_cert=tls_cert,
        tls_key=tls_key,
        media=MediaConfig(
            ice_servers=tuple(args.ice_server),
            announced_ip=args.public_ip,
            remote_networks=tuple(args.ice_remote_network),
            slots_per_kind=max(1, args.max_participants - 1),
            turn=turn,
            ice_port_range=ice_ports,
            compiled_send=args.compiled_send,
        ),
    )
