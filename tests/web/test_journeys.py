"""What parents and children do, in Chromium, against `voicebridge serve --demo`.

Each journey names what a person does. Pages are found by data-testid and
form labels' ids, never by wording, so the catalogue can change freely.
Every screen a journey reaches is checked with axe-core.
"""

from __future__ import annotations

import os
from typing import Any

from tests.web.browser import Demo, new_phone
from tests.web.conftest import axe_check as a11y

# The journey records three minutes; set lower to iterate locally.
RECORD_SECONDS = int(os.environ.get("VOICEBRIDGE_JOURNEY_RECORD_SECONDS", "180"))
PLAYBACK_RATE = 16


def register_parent(page: Any, demo: Demo, name: str, child: str) -> str:
    """Registers on the phone, redeems a code the teacher issued, consents; returns the child id."""
    teacher = demo.token("teacher@demo.voicebridge")
    child_id = demo.children[child][0]
    code = demo.json(
        "POST", f"/children/{child_id}/invitations", teacher, json={"relation": "mother"}
    )["code"]
    page.goto("/")
    a11y(page, "welcome")
    page.click("a[href='/parent']")
    page.wait_for_url("**/parent/signin**")
    a11y(page, "parent sign-in")
    page.click("a[href='/parent/register']")
    page.fill("#phone", new_phone())
    page.fill("#name", name)
    page.fill("#new-password", "a-long-password")
    a11y(page, "parent register")
    page.click("button[type=submit]")
    page.wait_for_url("**/parent/join")
    page.fill("#code", code)
    page.check("input[type=checkbox]")
    a11y(page, "join and consent")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/parent/child/{child_id}")
    page.wait_for_selector("[data-testid=record-long]")
    return child_id


def sign_in_parent(page: Any, login: str) -> None:
    page.goto("/parent/signin")
    page.fill("#login", login)
    page.fill("#password", "demo-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/parent")


def kiosk_sign_in(page: Any, demo: Demo, child: str, *, check: bool = False) -> None:
    child_id, pin = demo.children[child]
    page.goto("/kiosk")
    if page.wait_for_selector("[data-testid=roster-tile], #device-token").get_attribute("id"):
        if check:
            a11y(page, "kiosk setup")
        page.fill("#device-token", demo.device_token)
        page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=roster-tile]")
    if check:
        a11y(page, "kiosk roster")
    page.click(f"a[href='/kiosk/pin/{child_id}']")
    for digit in pin:
        page.click(f".pinpad button:text-is('{digit}')")
    if check:
        a11y(page, "kiosk PIN pad")
    page.click("[data-testid=pin-ok]")
    page.wait_for_url("**/kiosk/home")


def play_to_the_end(page: Any, button: Any) -> None:
    button.click()
    page.wait_for_function(
        "() => { const a = document.querySelector('audio'); return a && !a.paused; }"
    )
    page.evaluate(f"document.querySelector('audio').playbackRate = {PLAYBACK_RATE}")
    page.wait_for_function(
        "() => document.querySelector('audio').ended", timeout=RECORD_SECONDS * 1000
    )


def test_parent_joins_records_with_a_pause_and_the_child_hears_it(
    demo: Demo, phone: Any, tablet: Any
) -> None:
    parent = phone.new_page()
    child_id = register_parent(parent, demo, "Journey Mum", "Fang")
    a11y(parent, "parent thread")

    parent.click("[data-testid=record-long]")
    parent.wait_for_selector("[data-testid=recorder][data-state=recording]")
    a11y(parent, "recorder")
    parent.wait_for_timeout(RECORD_SECONDS * 500)
    parent.click("[data-testid=pause]")
    parent.wait_for_selector("[data-testid=recorder][data-state=paused]")
    paused_at = parent.text_content("[data-testid=elapsed]")
    parent.wait_for_timeout(3000)
    assert parent.text_content("[data-testid=elapsed]") == paused_at
    parent.click("[data-testid=resume]")
    parent.wait_for_timeout(RECORD_SECONDS * 500)
    parent.click("[data-testid=stop-send]")
    parent.wait_for_selector("[data-testid=outbox-item][data-state=ready]", timeout=120_000)
    a11y(parent, "outbox")

    kiosk = tablet.new_page()
    kiosk_sign_in(kiosk, demo, "Fang", check=True)
    a11y(kiosk, "child home")
    tile = kiosk.locator("[data-testid=family-tile]", has_text="Journey Mum")
    assert tile.locator("[data-testid=unread]").count() == 1
    tile.click()
    kiosk.wait_for_selector("[data-testid=play]")
    a11y(kiosk, "child thread")
    play_to_the_end(kiosk, kiosk.locator("[data-testid=play]").first)

    parent.reload()
    receipt = parent.wait_for_selector("[data-testid=receipt]")
    assert receipt.get_attribute("class") == "ok"
    [message] = sent_messages(parent, demo, child_id)
    answer = demo.json("GET", f"/messages/{message['id']}/receipt", parent_token(parent))
    assert answer["completed"], answer
    assert answer["plays"] == 1


def parent_token(page: Any) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('vb.session')).access_token"))


def sent_messages(page: Any, demo: Demo, child_id: str) -> list[dict[str, Any]]:
    token = parent_token(page)
    me = demo.json("GET", "/me", token)
    threads = demo.json("GET", "/threads", token)["items"]
    [thread] = [t for t in threads if t["child_id"] == child_id]
    items = demo.json("GET", f"/threads/{thread['id']}/messages", token)["items"]
    return [m for m in items if m["sender_id"] == me["id"]]
