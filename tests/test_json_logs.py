"""`--log-format json` on a real server process: every line it logs is one JSON object with the
time, level, process, logger and message, the lines about a participant carry their session
and participant ids, and neither their display name nor their chat text appears anywhere."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench.harness import start_server
from server.bot.client import Bot, BotError
from server.logs import JsonFormatter, about

NAME = "Zebra-Quokka Marigold"  # a display name no log line may carry
CHAT = "Aubergine lighthouse at dawn"  # nor chat text


async def test_json_lines_name_ids_never_names_or_chat(
    tmp_path: Path, small_media: Any, loopback_ice: None
) -> None:
    log = tmp_path / "server.log"
    with start_server(
        tmp_path / "data",
        log,
        extra_args=["--log-format", "json", "--node-id", "node-logs"],
        env={"CIRCLE_LOG_LEVEL": "INFO"},
    ) as server:
        session = server.api("/api/sessions", {"title": "Logged group", "waiting_room": False})
        bot = Bot(session["invite_url"], NAME, small_media)
        await bot.start()
        try:
            await bot.request("control", {"action": "chat", "text": CHAT})
            with pytest.raises(BotError):  # refused: logged with the sender's ids
                await bot.request("control", {"action": "chat", "text": CHAT, "to": "p_nobody"})
        finally:
            await bot.leave()
    text = log.read_text()
    assert NAME not in text and "Zebra" not in text and CHAT not in text and "Aubergine" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    for line in lines:
        assert {"time", "level", "process", "logger", "event", "message"} <= set(line), line
        assert line["process"] == "node-logs"
        assert datetime.fromisoformat(line["time"]).utcoffset() is not None  # UTC, with Z
    ids = {"session_id": session["session_id"], "participant_id": bot.participant_id}
    about_them = [line for line in lines if line.get("participant_id") == bot.participant_id]
    assert {line["session_id"] for line in about_them} == {session["session_id"]}
    joined = [line for line in about_them if line["message"].startswith("participant ")]
    refused = [line for line in about_them if line["message"].startswith("refused control")]
    assert joined and refused, lines
    assert all(ids.items() <= line.items() for line in joined + refused)


def test_extra_ids_and_exceptions_in_a_line() -> None:
    formatter = JsonFormatter("node-x")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "circle.test", logging.ERROR, __file__, 1, "session %s failed", ("s_1",), sys.exc_info()
        )
    record.participant_id = "p_given"  # extra= sets record attributes
    with about("s_1", "p_context"):
        line = json.loads(formatter.format(record))
    assert line["event"] == "session %s failed" and line["message"] == "session s_1 failed"
    assert (line["session_id"], line["participant_id"]) == ("s_1", "p_given")
    assert "ValueError: boom" in line["exception"]
    assert "session_id" not in json.loads(formatter.format(logging.makeLogRecord({"msg": "x"})))
