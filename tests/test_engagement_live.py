"""Engagement through the real server: bots publish generated speech with known spans (a loud
speaker, a quiet one, overlapping turns, a noise floor, Opus DTX), and the server's measured
speaking time and turns match the script; leaders get it live and over REST."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.bot.client import Bot
from server.bot.media import EncodedMedia, generate_clip, scripted_speech_expr
from tests.conftest import API_KEY, RunningServer, until

pytestmark = pytest.mark.usefixtures("loopback_ice")

CLIP_S = 14.0  # speech within the first 10 s, then silence until the clip loops
SCRIPT: dict[str, tuple[float, list[tuple[float, float]]]] = {
    # name: (amplitude, speech spans in seconds from the clip's start)
    "Ana": (0.19, [(1.0, 4.0), (5.0, 6.5)]),
    "Ben": (0.19, [(3.5, 5.5)]),
    "Cy": (0.03, [(7.0, 9.0)]),  # a quiet speaker, about -40 dBov
    "Di": (0.19, []),  # never speaks: only the noise floor
}


def speech_media(tmp: Path, name: str) -> EncodedMedia:
    amplitude, spans = SCRIPT[name]
    clip = generate_clip(
        tmp / f"{name}.webm",
        seconds=CLIP_S,
        video=False,
        audio_expr=scripted_speech_expr(spans, amplitude),
    )
    return EncodedMedia.load(clip, None)


async def test_speaking_time_and_turns_match_the_script(
    circle_server: RunningServer, tmp_path: Path
) -> None:
    session = await circle_server.create_session()
    lead = Bot(session["facilitator_url"], "Lead", None, subscribe=False)
    live_reports: list[dict[str, Any]] = []
    speaking_seen: set[str] = set()
    lead.sio.on("engagement", live_reports.append)
    lead.sio.on("speaking", lambda msg: speaking_seen.update(msg["participant_ids"]))
    active_speakers: set[str | None] = set()  # each told to the whole room
    lead.sio.on("active_speaker", lambda msg: active_speakers.add(msg["participant_id"]))
    bots = {
        name: Bot(session["invite_url"], name, speech_media(tmp_path, name), subscribe=False)
        for name in SCRIPT
    }
    try:
        await lead.start()
        started = time.monotonic()
        await asyncio.gather(*(bot.start() for bot in bots.values()))
        for bot in bots.values():
            await bot.wait_connected()
        # all bots are now past their speech and in the silent tail of their first loop
        await asyncio.sleep(max(0.0, 10.5 - (time.monotonic() - started)))
        assert time.monotonic() - started < CLIP_S - 0.5, "bots took too long to start"
        report = await circle_server.api_get(f"/api/sessions/{session['session_id']}/engagement")
        measured = {m["name"]: m for m in report["participants"].values()}
        for name, (_, spans) in SCRIPT.items():
            truth = sum(end - start for start, end in spans)
            got = measured[name]
            tolerance = max(0.05 * truth, 0.3)
            assert abs(got["speaking_s"] - truth) <= tolerance, (name, got, truth)
            assert got["turns"] == len(spans), (name, got)
        assert measured["Ben"]["interruptions"] + measured["Ana"]["interruptions"] >= 1
        assert report["session"]["balance_index"] is not None
        ids = {m["name"]: pid for pid, m in report["participants"].items()}
        assert {ids["Ana"], ids["Ben"], ids["Cy"]} <= speaking_seen
        assert ids["Di"] not in speaking_seen
        assert {ids["Ana"], ids["Ben"], ids["Cy"]} <= active_speakers
        assert ids["Di"] not in active_speakers
        await until(lambda: bool(live_reports), 3, "a live report reaches the facilitator")
        assert set(live_reports[-1]["participants"]) == set(report["participants"])
    finally:
        for bot in [lead, *bots.values()]:
            await bot.close()


async def test_engagement_api_refusals(circle_server: RunningServer) -> None:
    session = await circle_server.create_session()
    url = f"{circle_server.base_url}/api/sessions/{session['session_id']}/engagement"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 401
        async with http.get(
            url.replace(session["session_id"], "s_nope"),
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as r:
            assert r.status == 404
        async with http.get(url, headers={"Authorization": f"Bearer {API_KEY}"}) as r:
            assert await r.json() == {
                "session_id": session["session_id"],
                "live": False,
                "participants": {},
            }
