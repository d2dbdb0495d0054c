"""What a link holder learns before joining (POST /api/link): the title, who leads and when it
starts; a leader's own name; and nothing for a bad link."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp

from tests.clients import call, signed_in, token_of
from tests.conftest import RunningServer


async def test_a_link_tells_who_leads_and_when(circle_server: RunningServer) -> None:
    base = circle_server.base_url
    # a start within the year ahead that sessions may be scheduled in
    zone = timezone(timedelta(hours=-5))
    start = (datetime.now(zone) + timedelta(days=30)).replace(microsecond=0).isoformat()
    dana = await signed_in(circle_server, "f_dana", "dana@example.org")
    try:
        created, session = await call(
            dana,
            "POST",
            f"{base}/api/sessions",
            {"title": "Week 3", "scheduled_start": start},
        )
        assert created == 201, session
        async with aiohttp.ClientSession() as anon:
            status, about = await call(
                anon, "POST", f"{base}/api/link", {"token": token_of(session["invite_url"])}
            )
            assert status == 200
            assert about == {
                "title": "Week 3",
                "scheduled_start": start,
                "ended": False,
                "safety_check": True,
                "leader": {"name": "F_Dana", "credentials": "PhD"},
                "your_name": None,
                "node": None,  # a single process: nowhere else to go
            }
            # a leader's link: the name their account joins with
            status, mine = await call(
                anon, "POST", f"{base}/api/link", {"token": token_of(session["facilitator_url"])}
            )
            assert mine["your_name"] == "F_Dana"
            status, bad = await call(anon, "POST", f"{base}/api/link", {"token": "x" * 40})
            assert status == 401 and bad["error"] == "invalid_token"
            status, bad = await call(anon, "POST", f"{base}/api/link", {"tok": 1})
            assert status == 400 and bad["error"] == "invalid"
    finally:
        await dana.close()
