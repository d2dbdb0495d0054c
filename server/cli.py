"""`circle` command line: `circle serve` (the default) and `circle bot`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from aiohttp import web

from server.config import add_serve_arguments, settings_from_args


def _serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    from server.app import create_app

    host = settings.public_url or f"http://{settings.host}:{settings.port}"
    if not os.environ.get("CIRCLE_API_KEY"):
        print(f"No CIRCLE_API_KEY set; this run's API key is: {settings.api_key}")
    print("Create a session:")
    print(
        f"  curl -s -X POST {host}/api/sessions -H 'Authorization: Bearer {settings.api_key}'"
        " -H 'Content-Type: application/json' -d '{\"title\": \"Tuesday group\"}'"
    )
    sys.stdout.flush()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; keep working without
        pass
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=print)
    return 0


def _bot(args: argparse.Namespace) -> int:
    from server.bot import cli_main

    return asyncio.run(cli_main(args.invite_url, args.count, args.duration, args.audio, args.video))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("CIRCLE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)  # one line per ICE check otherwise
    parser = argparse.ArgumentParser(prog="circle", description="Circle group-session server")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the server (the default)")
    add_serve_arguments(serve)
    bot = commands.add_parser("bot", help="join headless participants that publish media files")
    bot.add_argument("--invite-url", required=True)
    bot.add_argument("--count", type=int, default=1)
    bot.add_argument("--duration", type=float, default=None, help="seconds; default: until ^C")
    bot.add_argument("--audio", default=None, help="encoded audio file (Opus)")
    bot.add_argument("--video", default=None, help="encoded video file (VP8)")
    raw = sys.argv[1:] if argv is None else argv
    if not raw or (raw[0].startswith("-") and raw[0] not in ("-h", "--help")):
        raw = ["serve", *raw]
    args = parser.parse_args(raw)
    if args.command == "bot":
        return _bot(args)
    return _serve(args)
