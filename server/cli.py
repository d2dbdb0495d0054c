"""`circle` command line: `circle serve` (the default), `circle bot`, `circle facilitator`,
`circle backup` and `circle restore`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import ssl
import sys
import time
from pathlib import Path
from typing import TextIO

from aiohttp import web

from server import logs, security
from server.config import (
    Settings,
    add_serve_arguments,
    add_store_arguments,
    default_node_id,
    settings_from_args,
)

log = logging.getLogger(__name__)

# At exit, after the drain (on_shutdown): sockets still open get this long, then are cut
# (aiohttp's default waits a minute for every websocket).
SHUTDOWN_GRACE_S = 1.0


def announce_api_key(settings: Settings, host: str, out: TextIO, configured: bool) -> None:
    """A generated API key is shown once on a terminal; when output goes elsewhere (a log
    file, the journal) it is written to <data dir>/api-key (0600) instead, never logged."""
    if configured:
        return
    if out.isatty():
        print(f"No CIRCLE_API_KEY set; this run's API key is: {settings.api_key}", file=out)
        print("Create a session:", file=out)
        print(
            f"  curl -s -X POST {host}/api/sessions -H 'Authorization: Bearer <key>'"
            " -H 'Content-Type: application/json' -d '{\"title\": \"Tuesday group\"}'",
            file=out,
        )
    else:
        path = settings.data_dir / "api-key"
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(settings.api_key + "\n")
        print(f"No CIRCLE_API_KEY set; this run's API key is in {path}", file=out)
    out.flush()


def _serve(args: argparse.Namespace, serve_argv: list[str]) -> int:
    settings = settings_from_args(args)  # the secret file is made here, before any worker
    workers = args.workers or ((os.cpu_count() or 1) if settings.redis_url else 1)
    if workers > 1 and not settings.redis_url:
        raise SystemExit("--workers above 1 needs --redis-url (REDIS_URL): workers share Redis")
    tls = _tls_context(settings)
    scheme = "https" if tls else "http"
    host = settings.public_url or f"{scheme}://{settings.host}:{settings.port}"
    announce_api_key(settings, host, sys.stdout, bool(os.environ.get("CIRCLE_API_KEY")))
    if workers > 1:
        from server.cluster import supervisor

        commands = supervisor.worker_commands(
            serve_argv, workers, settings.port, settings.node_id, settings.public_url
        )
        env = {**os.environ, "CIRCLE_API_KEY": settings.api_key}  # one key for every worker
        return supervisor.supervise(commands, env, settings.drain_timeout_s)
    from server.app import create_app
    from server.cluster.supervisor import end_with_supervisor

    end_with_supervisor()

    if not settings.public_url and security.trusted_hostnames(settings) == security.LOOPBACK_NAMES:
        log.warning("No --public-url: only requests for localhost are answered.")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; keep working without
        pass
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=tls,
        print=print,
        shutdown_timeout=SHUTDOWN_GRACE_S,
    )
    return 0


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    """HTTPS on --port itself, for a machine without a reverse proxy: browsers give camera and
    microphone only to https pages (or localhost)."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"--tls-cert/--tls-key: cannot load them: {exc}") from exc
    return context


def _bot(args: argparse.Namespace) -> int:
    from server.bot import cli_main

    return asyncio.run(
        cli_main(
            args.invite_url, args.count, args.duration, args.audio, args.video, args.ice_address
        )
    )


async def _add_facilitator(args: argparse.Namespace, password: str) -> int:
    from server import accounts
    from server.store import Facilitator, StoreConflict, open_store

    settings = settings_from_args(args)
    store = await open_store(settings)
    try:
        facilitator = await store.add_facilitator(
            Facilitator(
                id="f_" + secrets.token_urlsafe(8),
                email=args.email,
                password_hash=accounts.hash_password(password),
                display_name=args.name or args.email.split("@")[0],
                credentials=args.credentials,
                created_at=time.time(),
            )
        )
    except StoreConflict:
        print(f"A facilitator with the email {args.email} already exists.", file=sys.stderr)
        return 1
    finally:
        await store.close()
    print(f"Added facilitator {facilitator.id} ({facilitator.email}); sign in at /signin")
    return 0


async def _change_access(args: argparse.Namespace, password: str | None) -> int:
    """disable or reset-password: either way every sign-in cookie of the account is revoked."""
    from server import accounts
    from server.store import open_store

    store = await open_store(settings_from_args(args))
    try:
        found = await store.find_facilitator_by_email(args.email)
        if found is None:
            print(f"No facilitator with the email {args.email}.", file=sys.stderr)
            return 1
        if password is None:
            await store.update_facilitator_access(found.id, disabled=True)
            print(f"Disabled {found.id}; its sign-ins are revoked.")
        else:
            new_hash = accounts.hash_password(password)
            await store.update_facilitator_access(found.id, password_hash=new_hash, disabled=False)
            print(f"New password for {found.id}; its earlier sign-ins are revoked.")
    finally:
        await store.close()
    return 0


def _facilitator(args: argparse.Namespace) -> int:
    from server.accounts import MIN_PASSWORD_CHARS

    if args.facilitator_command == "disable":
        return asyncio.run(_change_access(args, None))
    password = os.environ.get("CIRCLE_FACILITATOR_PASSWORD")  # for scripted setups
    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("The passwords differ.", file=sys.stderr)
            return 1
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"Use at least {MIN_PASSWORD_CHARS} characters.", file=sys.stderr)
        return 1
    if args.facilitator_command == "reset-password":
        return asyncio.run(_change_access(args, password))
    return asyncio.run(_add_facilitator(args, password))


def _backup(args: argparse.Namespace) -> int:
    """`circle backup PATH` / `circle restore PATH` on the SQLite store of --data-dir."""
    from server.store import SQLITE_FILE_NAME
    from server.store.sqlite import backup

    if args.redis_url:
        print(
            "The data is in Redis: back it up with Redis itself (docs/deploy.md, Backups).",
            file=sys.stderr,
        )
        return 1
    store = Path(args.data_dir) / SQLITE_FILE_NAME
    try:
        if args.command == "backup":
            backup.backup(store, Path(args.path))
        else:
            backup.restore(Path(args.path), store)
    except backup.BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    done = "Backed up" if args.command == "backup" else "Restored"
    print(f"{done} {store} {'to' if args.command == 'backup' else 'from'} {args.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="circle", description="Circle group-session server")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the server (the default)")
    add_serve_arguments(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("CIRCLE_WORKERS", "0")) or None,
        help="processes on this machine, ports from --port up (needs --redis-url; default "
        "with it: one per core, else 1)",
    )
    bot = commands.add_parser("bot", help="join headless participants that publish media files")
    bot.add_argument("--invite-url", required=True)
    bot.add_argument("--count", type=int, default=1)
    bot.add_argument("--duration", type=float, default=None, help="seconds; default: until ^C")
    bot.add_argument("--audio", default=None, help="encoded audio file (Opus)")
    bot.add_argument("--video", default=None, help="encoded video file (VP8)")
    bot.add_argument(
        "--ice-address",
        action="append",
        default=None,
        help="gather ICE candidates only on this address (repeatable; env CIRCLE_ICE_ADDRESSES)",
    )
    for name, purpose in (
        ("backup", "copy the SQLite store to PATH while the server runs"),
        ("restore", "replace the SQLite store with the backup at PATH (server stopped)"),
    ):
        copy = commands.add_parser(name, help=purpose)
        copy.add_argument("path")
        add_store_arguments(copy)
    facilitator = commands.add_parser("facilitator", help="manage facilitator accounts")
    facilitator_commands = facilitator.add_subparsers(dest="facilitator_command", required=True)
    add = facilitator_commands.add_parser("add", help="add an account (password is prompted)")
    add.add_argument("email")
    add.add_argument("--name", default=None, help="display name shown on the tile")
    add.add_argument("--credentials", default="", help="e.g. LCSW, LPC, PhD, MD, PMHNP, CAC")
    add_serve_arguments(add)
    for name, purpose in (
        ("disable", "disable an account and revoke its sign-ins"),
        ("reset-password", "set a new password (prompted) and revoke earlier sign-ins"),
    ):
        change = facilitator_commands.add_parser(name, help=purpose)
        change.add_argument("email")
        add_serve_arguments(change)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    raw = sys.argv[1:] if argv is None else argv
    if not raw or (raw[0].startswith("-") and raw[0] not in ("-h", "--help")):
        raw = ["serve", *raw]
    args = parser.parse_args(raw)
    logs.configure(
        getattr(args, "log_format", "text"),
        getattr(args, "node_id", None) or default_node_id(),
        os.environ.get("CIRCLE_LOG_LEVEL", "INFO"),
    )
    if args.command == "bot":
        return _bot(args)
    if args.command == "facilitator":
        return _facilitator(args)
    if args.command in ("backup", "restore"):
        return _backup(args)
    return _serve(args, raw[1:])
