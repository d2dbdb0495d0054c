"""Issue 15, findings 6 and 12: `circle facilitator disable` and `reset-password` revoke
sign-ins; a generated API key is never written to a log."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from server import accounts
from server.cli import announce_api_key, main
from server.config import Settings
from server.store import open_store

pytestmark = pytest.mark.unit


def _account(data_dir: Path) -> tuple[int, bool, str]:
    async def read() -> tuple[int, bool, str]:
        store = await open_store(Settings(data_dir=data_dir))
        try:
            found = await store.find_facilitator_by_email("dana@example.org")
            assert found is not None
            return found.token_version, found.disabled, found.password_hash
        finally:
            await store.close()

    return asyncio.run(read())


def test_disable_and_reset_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLE_FACILITATOR_PASSWORD", "first passphrase")
    monkeypatch.setenv("CIRCLE_SECRET", "s" * 40)
    data = ["--data-dir", str(tmp_path)]
    assert main(["facilitator", "add", "dana@example.org", *data]) == 0
    assert main(["facilitator", "disable", "dana@example.org", *data]) == 0
    assert _account(tmp_path)[:2] == (1, True)
    monkeypatch.setenv("CIRCLE_FACILITATOR_PASSWORD", "second passphrase")
    assert main(["facilitator", "reset-password", "dana@example.org", *data]) == 0
    version, disabled, password_hash = _account(tmp_path)
    assert (version, disabled) == (2, False)
    assert accounts.verify_password(password_hash, "second passphrase")
    assert main(["facilitator", "disable", "nobody@example.org", *data]) == 1


def test_a_generated_api_key_never_reaches_a_log(tmp_path: Path) -> None:
    settings = Settings(api_key="generated-key-123", data_dir=tmp_path / "d")
    out = io.StringIO()  # not a terminal: a log file or the journal
    announce_api_key(settings, "http://127.0.0.1:8080", out, configured=False)
    assert "generated-key-123" not in out.getvalue()
    key_file = tmp_path / "d" / "api-key"
    assert key_file.read_text().strip() == "generated-key-123"
    assert key_file.stat().st_mode & 0o777 == 0o600
