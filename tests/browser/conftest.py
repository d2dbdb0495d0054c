"""Browser fixtures: one headless Debian Chromium per test, with a fake camera and microphone.

Chromium must be installed at /usr/bin/chromium; without it these tests fail (they never skip).
Plain helpers for pages (open, join, wait) are in tests/browser/helpers.py.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from bench.harness import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not await asyncio.to_thread(os.path.exists, CHROMIUM):
        pytest.fail(f"Chromium is required for the browser tests and is missing: {CHROMIUM}")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()
