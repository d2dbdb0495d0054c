"""The REST API fuzzed from its own OpenAPI document (schemathesis) on a live server: no
request, valid or not, gets a 5xx, and every refusal is the documented JSON error shape."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from bench.harness import ServerProcess, start_server
from server.accounts import hash_password
from server.store import SQLITE_FILE_NAME, Facilitator
from server.store.sqlite import SQLiteStore

EMAIL, PASSWORD = "dana@example.org", "a long enough passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    store = SQLiteStore(root / "data" / SQLITE_FILE_NAME)  # a facilitator, before it starts
    account = Facilitator("f_dana", EMAIL, hash_password(PASSWORD), "Dana", "LCSW", time.time())
    asyncio.run(store.add_facilitator(account))
    asyncio.run(store.close())
    with start_server(root / "data", root / "server.log") as running:
        running.api("/api/sessions", {"title": "Fuzzed group", "waiting_room": False})
        yield running


def signed_in_cookie(server: ServerProcess) -> str:
    response = requests.post(
        f"{server.base}/api/auth/signin", json={"email": EMAIL, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return f"circle_session={response.cookies['circle_session']}"


EXAMPLES_PER_OPERATION = 12  # bounded: about 25 operations, a few seconds in all


def test_no_request_gets_a_server_error_and_every_refusal_is_json(server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{server.base}/api/openapi.json")
    # both the API key and a facilitator's cookie: cookie-only routes are reached too
    headers = {"Authorization": f"Bearer {server.key}", "Cookie": signed_in_cookie(server)}
    # signing out revokes the cookie the other operations use: it goes last
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: operation.label == "POST /api/auth/signout",
    )
    assert len(operations) >= 20  # the whole API, not a part that happened to load
    statuses: Counter[int] = Counter()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,  # the same cases every run: CI stays stable and bounded
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            response = case.call(base_url=server.base, headers=headers)
            statuses[response.status_code // 100] += 1
            where = (case.method, case.formatted_path, response.text[:200])
            assert response.status_code < 500, where
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error", "message"}, where
                assert isinstance(body["error"], str) and isinstance(body["message"], str)

        call()
    # it really called the server, with cases both accepted and refused
    assert statuses[2] > 20 and statuses[4] > 20, statuses
