"""The drivers: the speakers' tracks published through a real server, by bots or Chromium.

A facilitator bot timestamps every `speaking` event on arrival. With bots, one aiortc bot per
speaker replays that speaker's timeline as Opus, every track started at one shared instant. With
Chromium, one headless browser per speaker joins the real session page, its fake microphone
playing the timeline as a WAV from the moment getUserMedia resolves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import CHROMIUM, CHROMIUM_ARGS, ServerProcess, page_value
from bench.speaking.script import RATE, encode_opus_webm, write_wav
from bench.speaking.truth import (
    Conversation,
    RunResult,
    collect,
    truth_interruptions,
)
from server.bot.client import Bot
from server.bot.media import EncodedMedia, EncodedStream, EncodedTrack
from server.media import aiortc_hooks

BOT_LEAD_IN_S = 1.5  # noise floor before the first words
CHROMIUM_LEAD_IN_S = 8.0  # the WAV starts at getUserMedia: time to join and connect first
READ_AFTER_S = 1.5  # after the last truth span: hangover (0.5 s) and the 100 ms check passed
BOT_START_DELAY_S = 4.0  # every bot's track starts at the same instant, this far ahead
MARKER_AT_S = 1.0  # Chromium's WAV: a short tone this far into the lead-in...
MARKER_S = 0.03
MARKER_PEAK = 0.3  # ...at this peak (full scale 1)


async def new_session(server: ServerProcess) -> dict[str, Any]:
    body = {"title": "bench", "waiting_room": False}
    session: dict[str, Any] = await asyncio.to_thread(server.api, "/api/sessions", body)
    return session


async def engagement(server: ServerProcess, session_id: str) -> dict[str, Any]:
    path = f"/api/sessions/{session_id}/engagement"
    report: dict[str, Any] = await asyncio.to_thread(server.api, path)
    return report


async def alerted(server: ServerProcess, session_id: str, report: dict[str, Any]) -> set[str]:
    """Everyone who was in an engagement alert at any time (the summary's alert log), or is
    in one now (the report)."""
    summary = await asyncio.to_thread(server.api, f"/api/sessions/{session_id}/summary")
    logged = {str(p["id"]) for p in summary["participants"] if p.get("alerts")}
    return logged | {str(a["participant_id"]) for a in report.get("alerts", [])}


@dataclass
class Run:
    """One conversation through the server, ready to be scored once it has been played."""

    server: ServerProcess
    session_id: str
    conversation: Conversation
    facilitator: Facilitator
    notes: list[str]

    async def score(self, mode: str, pids: dict[str, str], origins: dict[str, float]) -> RunResult:
        """What the server measured, against the truth."""
        report = await engagement(self.server, self.session_id)
        flagged = await alerted(self.server, self.session_id, report)
        results = collect(self.conversation, report, self.facilitator, pids, origins, flagged)
        interruptions = truth_interruptions(self.conversation, origins)
        return RunResult(mode, results, self.notes, interruptions, pids, origins)


class Facilitator:
    """A facilitator bot (no media) that timestamps every `speaking` event on arrival."""

    def __init__(self, url: str) -> None:
        self.bot = Bot(url, "Lead", None, subscribe=False)
        self.events: list[tuple[float, frozenset[str]]] = []  # (monotonic arrival, who)
        self.bot.sio.on("speaking", self._on_speaking)

    def _on_speaking(self, message: dict[str, Any]) -> None:
        self.events.append((time.monotonic(), frozenset(message.get("participant_ids", []))))

    def onsets(self, pid: str) -> list[float]:
        """Arrival times of the events where `pid` starts speaking."""
        out: list[float] = []
        before: frozenset[str] = frozenset()
        for at, now in self.events:
            if pid in now and pid not in before:
                out.append(at)
            before = now
        return out


async def sleep_until(monotonic_at: float) -> None:
    await asyncio.sleep(max(0.0, monotonic_at - time.monotonic()))


# -- mode 1: bots ----------------------------------------------------------------------------


class ScheduledMedia(EncodedMedia):
    """Audio whose track starts at a set monotonic instant, so every speaker's timeline shares
    one clock. EncodedTrack keeps its origin in `_started_at` (media time t is due at
    `_started_at + timestamp / clock_rate`); a track whose sender starts late catches up (or,
    more than 1 s late, moves its origin), so the origin is read back after the run."""

    def __init__(self, audio: EncodedStream | None, start_at: float) -> None:
        super().__init__(audio, None)
        self.start_at = start_at
        self.made: list[EncodedTrack] = []

    def tracks(self) -> list[EncodedTrack]:
        made = super().tracks()
        for track in made:
            track._started_at = self.start_at
        self.made.extend(made)
        return made

    def origin(self) -> float:
        started = [t._started_at for t in self.made if t._started_at is not None]
        return started[0] if started else self.start_at


async def run_bots(conversation: Conversation, server: ServerProcess, workdir: Path) -> RunResult:
    aiortc_hooks.restrict_host_addresses(["127.0.0.1"])
    streams: dict[str, EncodedStream | None] = {}
    for name, track in conversation.tracks.items():
        clip = await asyncio.to_thread(encode_opus_webm, workdir / f"{name}.webm", track.pcm)
        loaded = await asyncio.to_thread(EncodedMedia.load, clip, None)
        streams[name] = loaded.audio
    session = await new_session(server)
    facilitator = Facilitator(session["facilitator_url"])
    bots: dict[str, Bot] = {}
    media: dict[str, ScheduledMedia] = {}
    notes: list[str] = []
    try:
        await facilitator.bot.start()
        start_at = time.monotonic() + BOT_START_DELAY_S
        for name in conversation.tracks:
            media[name] = ScheduledMedia(streams[name], start_at)
            bots[name] = Bot(session["invite_url"], name, media[name], subscribe=False)
        await asyncio.gather(*(bot.start() for bot in bots.values()))
        await asyncio.gather(*(bot.wait_connected() for bot in bots.values()))
        late = time.monotonic() - start_at
        if late > 0:
            notes.append(f"bots connected {late:.2f} s after the tracks' common start")
        origins = {name: m.origin() for name, m in media.items()}
        await sleep_until(max(origins.values()) + conversation.script_end_s + READ_AFTER_S)
        if time.monotonic() >= min(origins.values()) + conversation.length_s:
            raise RuntimeError("read the results too late: a clip already looped")
        origins = {name: m.origin() for name, m in media.items()}
        spread = max(origins.values()) - min(origins.values())
        notes.append(f"tracks started within {1000 * spread:.0f} ms of each other")
        pids = {name: str(bot.participant_id) for name, bot in bots.items()}
        run = Run(server, session["session_id"], conversation, facilitator, notes)
        return await run.score("bots", pids, origins)
    finally:
        await asyncio.gather(
            *(b.close() for b in [*bots.values(), facilitator.bot]), return_exceptions=True
        )
        aiortc_hooks.restrict_host_addresses(None)


# -- mode 2: Chromium ------------------------------------------------------------------------

# Before any page script: getUserMedia waits for the bench's go (so every fake microphone's
# WAV starts at nearly the same instant), asks for audio only (four browsers' fake cameras would
# load two cores and are irrelevant here), and records when it was called and resolved. Then a
# Web Audio probe on a clone of the microphone notes when the WAV's marker tone reaches the
# page: a check, on every run, that the WAV really starts when getUserMedia resolves.
GUM_GATE_JS = """
(() => {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const real = md.getUserMedia.bind(md);
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const now = () => performance.timeOrigin + performance.now();
  window.__bench = { go: () => release(), calls: [] };
  const probe = (stream, call) => {
    const clones = stream.getAudioTracks().map((t) => t.clone());
    if (!clones.length) return;
    const ctx = new AudioContext();
    const node = ctx.createScriptProcessor(256, 1, 1);
    ctx.createMediaStreamSource(new MediaStream(clones)).connect(node);
    node.connect(ctx.destination);
    node.onaudioprocess = (e) => {
      const d = e.inputBuffer.getChannelData(0);
      for (let i = 0; i < d.length; i++) {
        if (Math.abs(d[i]) > MARKER_THRESHOLD) {
          call.marker = now() - (1000 * (d.length - i)) / ctx.sampleRate;
          node.onaudioprocess = null;
          for (const t of clones) t.stop();
          ctx.close();
          return;
        }
      }
    };
  };
  md.getUserMedia = async (constraints) => {
    await gate;
    const audio = constraints && constraints.audio;
    const overrides = AUDIO_OVERRIDES;
    const wanted = audio
      ? { audio: Object.assign({}, audio === true ? {} : audio, overrides) }
      : constraints;
    const call = { requested: now(), resolved: null, marker: null };
    window.__bench.calls.push(call);
    const stream = await real(wanted);
    call.resolved = now();
    try { probe(stream, call); } catch (err) { call.probeError = String(err); }
    return stream;
  };
})();
"""


def with_marker(pcm: array[int]) -> array[int]:
    """The WAV for Chromium: the track plus a 30 ms tone in the lead-in (before anyone has
    joined, so the server never hears it; too short for the engine's 60 ms attack anyway)."""
    out = array("h", pcm)
    begin = round(MARKER_AT_S * RATE)
    for i in range(round(MARKER_S * RATE)):
        out[begin + i] = round(MARKER_PEAK * 32767 * math.sin(2 * math.pi * 1000 * i / RATE))
    return out


async def run_chromium(
    conversation: Conversation,
    server: ServerProcess,
    workdir: Path,
    audio_overrides: dict[str, Any] | None = None,
) -> RunResult:
    """`audio_overrides`: merged into the page's own audio constraints (e.g. auto gain and
    noise suppression off), by the bench's init script; the product's defaults are untouched."""
    from playwright.async_api import Browser, Page, async_playwright

    wavs = {
        name: await asyncio.to_thread(write_wav, workdir / f"{name}.wav", with_marker(track.pcm))
        for name, track in conversation.tracks.items()
    }
    session = await new_session(server)
    facilitator = Facilitator(session["facilitator_url"])
    browsers: list[Browser] = []
    notes = ["Chromium: audio only (getUserMedia asked for no camera)"]
    gate_js = GUM_GATE_JS.replace("MARKER_THRESHOLD", str(MARKER_PEAK / 3)).replace(
        "AUDIO_OVERRIDES", json.dumps(audio_overrides or {})
    )
    if audio_overrides:
        notes.append(f"page audio constraints overridden: {json.dumps(audio_overrides)}")
    async with async_playwright() as pw:
        try:
            await facilitator.bot.start()

            async def launch(wav: Path) -> Browser:
                return await pw.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=[
                        *CHROMIUM_ARGS,
                        # %noloop: the fake microphone plays the file once, then silence
                        f"--use-file-for-fake-audio-capture={wav}%noloop",
                        "--autoplay-policy=no-user-gesture-required",  # the marker probe
                    ],
                )

            browsers.extend(await asyncio.gather(*(launch(w) for w in wavs.values())))

            async def open_page(browser: Browser) -> Page:
                page = await browser.new_page()
                await page.add_init_script(gate_js)
                await page.goto(session["invite_url"])
                await page_value(
                    page,
                    "window.__bench && window.circle && window.circle.state === 'prejoin'",
                    30,
                )
                return page

            opened = await asyncio.gather(*(open_page(b) for b in browsers))
            pages = dict(zip(wavs, opened, strict=True))
            wall_to_mono = time.time() - time.monotonic()
            await asyncio.gather(*(p.evaluate("window.__bench.go()") for p in pages.values()))
            for page in pages.values():
                await page_value(
                    page, "window.__bench.calls.length && window.__bench.calls[0].resolved", 15
                )
            # Join once the marker has played, so no server ever hears it.
            await sleep_until(time.monotonic() + MARKER_AT_S + MARKER_S)
            for page in pages.values():
                with contextlib.suppress(TimeoutError):
                    await page_value(page, "window.__bench.calls[0].marker", 2)

            async def join(name: str, page: Page) -> tuple[str, float]:
                await page.get_by_label("Your name").fill(name)
                await page.get_by_role("button", name="Join").click()
                await page_value(
                    page,
                    "window.circle.state === 'joined' && window.circle.pcPublish"
                    " && window.circle.pcPublish.connectionState === 'connected'",
                    20,
                )
                pid = await page.evaluate("window.circle.participantId")
                return str(pid), time.monotonic()

            joins = await asyncio.gather(*(join(n, p) for n, p in pages.items()))
            joined = dict(zip(pages, joins, strict=True))
            calls: dict[str, dict[str, Any]] = {
                name: await page.evaluate("window.__bench.calls[0]") for name, page in pages.items()
            }
            # The fake microphone starts playing the WAV inside getUserMedia; the marker probe
            # checks that position 0 is (about) when it resolved.
            origins = {n: c["resolved"] / 1000 - wall_to_mono for n, c in calls.items()}
            gum_ms = [c["resolved"] - c["requested"] for c in calls.values()]
            notes.append(
                f"getUserMedia took {min(gum_ms):.0f}-{max(gum_ms):.0f} ms; onsets are timed "
                "from its result"
            )
            seen = [
                c["marker"] - c["resolved"] - 1000 * MARKER_AT_S
                for c in calls.values()
                if c.get("marker")
            ]
            if len(seen) == len(calls):
                notes.append(
                    f"the WAV's {1000 * MARKER_AT_S:.0f} ms marker reached the pages "
                    f"{min(seen):.0f} to {max(seen):.0f} ms after that (Chromium's capture "
                    "path to Web Audio included), so the WAV starts when getUserMedia resolves"
                )
            else:
                missing = [n for n, c in calls.items() if not c.get("marker")]
                notes.append(f"the marker probe saw nothing for {', '.join(missing)}")
            spread = max(origins.values()) - min(origins.values())
            notes.append(f"fake microphones started within {1000 * spread:.0f} ms of each other")
            for name, (_, connected_at) in joined.items():
                turns = conversation.tracks[name].turns
                if turns and connected_at > origins[name] + turns[0][0] - 0.2:
                    notes.append(f"{name} was publishing only after their first words began")
                if connected_at < origins[name] + MARKER_AT_S + MARKER_S:
                    notes.append(f"{name} was publishing before the marker tone had played")
            await sleep_until(max(origins.values()) + conversation.script_end_s + READ_AFTER_S)
            pids = {name: pid for name, (pid, _) in joined.items()}
            run = Run(server, session["session_id"], conversation, facilitator, notes)
            return await run.score("chromium", pids, origins)
        finally:
            await facilitator.bot.close()
            for browser in browsers:
                with contextlib.suppress(Exception):
                    await browser.close()
