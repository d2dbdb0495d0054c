"""A private talk in real Chromium: a member asks for help, the facilitator answers in a 1:1
room, and a third person's page never receives who is in it or who asked (checked on the
socket frames their page receives, not only on what it shows). Both sides keep a bar with one
click back to the group."""

from __future__ import annotations

from typing import Any

import msgpack
from playwright.async_api import Browser, Page, WebSocket

from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    WAIT_S,
    all_joined,
    drop_socket,
    join,
    joined,
    open_page,
    sees_and_hears,
    wait_for,
)
from tests.browser.test_browser_controls import person_action
from tests.conftest import RunningServer


def record_socket(page: Page) -> list[Any]:
    """Every socket.io packet the page receives (msgpack frames, decoded), in order."""
    received: list[Any] = []

    def on_frame(payload: str | bytes) -> None:
        if isinstance(payload, bytes | bytearray):
            received.append(msgpack.unpackb(bytes(payload), raw=False, strict_map_key=False))
        else:
            received.append(payload)  # engine.io pings

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return received


def events_of(received: list[Any], name: str) -> list[Any]:
    """The payloads of socket.io EVENT packets named `name`."""
    out = []
    for packet in received:
        data = packet.get("data") if isinstance(packet, dict) else None
        if isinstance(data, list) and data and data[0] == name:
            out.append(data[1] if len(data) > 1 else None)
    return out


async def test_a_private_talk_reaches_only_the_two_and_the_leaders(
    circle_server: RunningServer, browser: Browser
) -> None:
    created = await circle_server.create_session("Tuesday IOP")
    lead = await open_page(browser, created["facilitator_url"])
    sam = await open_page(browser, created["invite_url"])
    alex = await open_page(browser, created["invite_url"])
    frames = record_socket(alex)
    await join(lead, "Dana")
    lead_id = await joined(lead, 1, "the facilitator")
    await join(sam, "Sam")
    await joined(sam, 2, "Sam")
    await join(alex, "Alex")
    await joined(alex, 3, "Alex")

    await sam.get_by_role("button", name="I need help").click()
    banner = lead.locator(".help-alert", has_text="Sam asked for help privately")
    await banner.get_by_role("button", name="Talk privately now").click()

    # Both sides: a lasting bar naming the other, with the time and the way back.
    sam_bar = sam.locator("#private-bar")
    lead_bar = lead.locator("#private-bar")
    await sam_bar.get_by_text("Private talk with Dana").wait_for(timeout=WAIT_S * 1000)
    await lead_bar.get_by_text("Private talk with Sam").wait_for(timeout=WAIT_S * 1000)
    clock = "/· 0:0[2-9]/.test(document.querySelector('#private-status').textContent)"
    await wait_for(sam, clock, "the clock to run")
    # the stale "they will reach out" notice is gone once they have
    assert "reach out" not in await sam.locator("#notices").inner_text()

    # The group: the facilitator stepped away briefly; nothing about Sam or a private room.
    away = alex.locator(f'.tile[data-participant-id="{lead_id}"] .away-badge')
    await away.wait_for(state="visible", timeout=WAIT_S * 1000)
    await alex.get_by_role("button", name="People").click()
    people = await alex.locator("#people-list").inner_text()
    assert "stepped away briefly" in people
    assert "private" not in people.lower() and "help" not in people.lower()
    assert await alex.locator("#private-bar").is_hidden()

    # One click back, from the facilitator's bar.
    await lead_bar.get_by_role("button", name="Return to the group").click()
    await sam.get_by_text("You are back with the group").wait_for(timeout=5000)
    await wait_for(sam, "document.querySelector('#private-bar').hidden", "Sam's bar to go")
    await wait_for(lead, "document.querySelector('#private-bar').hidden", "the lead's bar to go")
    await away.wait_for(state="hidden", timeout=5000)

    # And from the member's side: Sam may end a private talk himself.
    await person_action(lead, "Sam", "Talk privately")
    await sam_bar.get_by_role("button", name="Return to the group").click()
    await sam.get_by_text("You are back with the group").nth(-1).wait_for(timeout=5000)
    await wait_for(lead, "document.querySelector('#private-bar').hidden", "the talk to end")

    # What Alex's page received, frame by frame.
    updates = events_of(frames, "participant_updated")
    assert any(u["id"] == lead_id and u["away"] is True for u in updates)
    assert all(u["room"] == "main" for u in updates), updates
    for name in ("help_requested", "help_resolved", "room_changed"):
        assert events_of(frames, name) == [], name
    assert "private-" not in repr(frames)

    for page in (lead, sam, alex):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()


async def test_in_a_private_talk_the_member_sees_and_hears_the_leader(
    circle_server: RunningServer, browser: Browser
) -> None:
    """From the member's side (on a phone): the leader's tile with its video decoding and an
    element playing the leader's audio, from the start of the talk and again after either of
    them loses their connection and comes back; after it, the whole group again."""
    created = await circle_server.create_session("Tuesday IOP")
    session_id = created["session_id"]
    (lead, lead_id), (sam, sam_id), (alex, alex_id) = await all_joined(
        browser,
        created,
        [
            ("facilitator_url", "Dana", DESKTOP),
            ("invite_url", "Sam", PHONE),
            ("invite_url", "Alex", DESKTOP),
        ],
    )

    await sam.get_by_role("button", name="I need help").click()
    banner = lead.locator(".help-alert", has_text="Sam asked for help privately")
    await banner.get_by_role("button", name="Talk privately now").click()
    await (
        sam.locator("#private-bar")
        .get_by_text("Private talk with Dana")
        .wait_for(timeout=WAIT_S * 1000)
    )
    await sees_and_hears(sam, lead_id, "Sam, of the facilitator")
    await sees_and_hears(lead, sam_id, "the facilitator, of Sam")
    # the facilitator's own tile keeps their camera (not an initial, as if away)
    own = "document.querySelector('.tile.self')"
    assert await lead.evaluate(
        f"!{own}.classList.contains('away') && !!{own}.querySelector('video').srcObject"
    )

    for dropped, name in ((sam_id, "Sam"), (lead_id, "the facilitator")):
        page = sam if dropped == sam_id else lead
        await drop_socket(circle_server, session_id, dropped)
        await wait_for(page, "window.circle.state === 'reconnecting'", f"{name}'s page to notice")
        await wait_for(
            page,
            "window.circle.state === 'joined' && window.circle.room.startsWith('private-')"
            " && window.circle.pcSubscribe !== null",
            f"{name} back in the private talk",
        )
        await sees_and_hears(sam, lead_id, f"Sam, of the facilitator, after {name} dropped")
        await sees_and_hears(lead, sam_id, f"the facilitator, of Sam, after {name} dropped")

    await sam.locator("#private-bar").get_by_role("button", name="Return to the group").click()
    await wait_for(sam, "window.circle.room === 'main'", "Sam back with the group")
    for page, me in ((sam, sam_id), (lead, lead_id), (alex, alex_id)):
        for other in {sam_id, lead_id, alex_id} - {me}:
            await sees_and_hears(page, other, f"{me} of {other} in the group again")

    for page in (lead, sam, alex):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()


# What a page shows of one person, with their name taken out: the tile's classes and visible
# badges, its accessible name, and their row in the People panel.
TILE_VIEW_JS = """
([pid, name]) => {
  const tile = document.querySelector(`.tile[data-participant-id="${CSS.escape(pid)}"]`);
  const row = [...document.querySelectorAll('#people-list li.person')]
    .find((li) => li.textContent.includes(name));
  const strip = (text) => (text || '').split(name).join('NAME').replace(/\\s+/g, ' ').trim();
  return {
    classes: [...tile.classList].filter((c) => c !== 'speaking').sort(),
    badges: [...tile.querySelectorAll('.badge')]
      .filter((b) => !b.hidden && getComputedStyle(b).display !== 'none')
      .map((b) => strip(b.textContent)),
    label: strip(tile.getAttribute('aria-label')),
    video: Boolean(tile.querySelector('video').srcObject),
    row: strip(row && row.innerText),
  };
}
"""


async def test_the_group_sees_a_member_in_a_private_talk_as_one_who_stepped_away(
    circle_server: RunningServer, browser: Browser
) -> None:
    """On another member's page, Sam (his hand up, taken aside by the facilitator) and Jo (who
    stepped away on her own) look the same, tile and People row alike; both come back, Sam's
    hand with him."""
    created = await circle_server.create_session("Tuesday IOP")
    (lead, _), (sam, sam_id), (jo, jo_id), (alex, _) = await all_joined(
        browser,
        created,
        [
            ("facilitator_url", "Dana", DESKTOP),
            ("invite_url", "Sam", PHONE),
            ("invite_url", "Jo", PHONE),
            ("invite_url", "Alex", DESKTOP),
        ],
    )
    await alex.get_by_role("button", name="People").click()

    await sam.get_by_role("button", name="More").click()
    await sam.get_by_role("button", name="Raise hand").click()
    await jo.get_by_role("button", name="More").click()
    await jo.get_by_role("button", name="Step away").click()
    await jo.locator("#away-bar").get_by_text("You stepped away").wait_for(timeout=WAIT_S * 1000)
    await person_action(lead, "Sam", "Talk privately")
    await sam.locator("#private-bar").wait_for(state="visible", timeout=WAIT_S * 1000)

    async def views() -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            await alex.evaluate(TILE_VIEW_JS, [sam_id, "Sam"]),
            await alex.evaluate(TILE_VIEW_JS, [jo_id, "Jo"]),
        )

    await wait_for(
        alex,
        f"document.querySelector('.tile[data-participant-id=\"{sam_id}\"]')"
        ".classList.contains('away')",
        "Sam shown as stepped away",
    )
    sam_view, jo_view = await views()
    assert sam_view == jo_view, (sam_view, jo_view)
    assert "Stepped away briefly" in sam_view["badges"] and not sam_view["video"]
    assert "hand" not in repr(sam_view).lower()

    await jo.locator("#away-bar").get_by_role("button", name="I'm back").click()
    await sam.locator("#private-bar").get_by_role("button", name="Return to the group").click()
    for pid, name in ((sam_id, "Sam"), (jo_id, "Jo")):
        await sees_and_hears(alex, pid, f"Alex, of {name}, back")
    sam_view, jo_view = await views()
    assert "Stepped away briefly" not in sam_view["badges"] + jo_view["badges"]
    assert "✋ Hand raised" in sam_view["badges"]  # kept while away, shown again
    for page in (lead, sam, jo, alex):
        assert page.circle_exceptions == []  # type: ignore[attr-defined]
        await page.context.close()
