"""Bots: browserless Circle participants for tests and load runs (`circle bot`).

client.py (the participant: signalling and peer connections), stats.py (what it received),
run.py (several bots, `circle bot`); media.py with clip.py, encoded.py, pacing.py and
packers.py (what it sends).
"""

from server.bot.client import Bot, BotError
from server.bot.media import EncodedMedia, EncodedTrack, default_clip, generate_clip
from server.bot.run import cli_main, run_bots
from server.bot.stats import BotReport, BotStats

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
