"""Issue 15, finding 6: `circle facilitator disable` and `reset-password` revoke sign-ins."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server import accounts
from server.cli import main
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
