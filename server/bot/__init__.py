"""Bots: browserless Circle participants for tests and load runs (`circle bot`)."""

from server.bot.client import Bot, BotError, BotReport, BotStats, cli_main, run_bots
from server.bot.media import EncodedMedia, EncodedTrack, default_clip, generate_clip

__all__ = [
    "Bot",
    "BotError",
    "BotReport",
    "BotStats",
    "EncodedMedia",
    "EncodedTrack",
    "cli_main",
    "default_clip",
    "generate_clip",
    "run_bots",
]
