"""What parents and children do, in Chromium, against `voicebridge serve --demo`.

Each journey names what a person does. Pages are found by data-testid and
form labels' ids, never by wording, so the catalogue can change freely.
Every screen a journey reaches is checked with axe-core.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from tests.web.browser import Demo, new_phone, speech_wav
from tests.web.conftest import axe_check as a11y

# The journey records three minutes; set lower to iterate locally.
RECORD_SECONDS = int(os.environ.get("VOICEBRIDGE_JOURNEY_RECORD_SECONDS", "180"))
PLAYBACK_RATE = 16
PLAYING = "() => [...document.querySelectorAll('audio')].some(a => a.currentTime > 1)"
GO_TO = "p => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }"


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
    number = new_phone()
    page.fill("#phone", number)
    page.click("[data-testid=send-code]")
    page.fill("#sms-code", demo.sms_code(number))
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
    tile.locator("[data-testid=unread]").wait_for()  # the new message's red dot
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


def test_an_upload_cut_at_40_percent_resumes_after_a_reload_and_arrives_once(
    demo: Demo, phone: Any, tmp_path: Path
) -> None:
    child_id = demo.children["Xiaoming"][0]
    page = phone.new_page()
    sign_in_parent(page, "+8613800138000")
    # Small tus chunks and a slow uplink, like a phone on a building site.
    page.evaluate("localStorage.setItem('vb.chunkSize', String(32 * 1024))")
    page.goto(f"/parent/child/{child_id}")
    page.wait_for_selector("[data-testid=file]")
    before = len(sent_messages(page, demo, child_id))
    cdp = phone.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 120_000},
    )
    seen: list[tuple[str, str | None]] = []
    offsets: list[str] = []

    def on_request(request: Any) -> None:
        if "/api/v1/uploads" in request.url:
            seen.append((request.method, request.headers.get("upload-offset")))

    def on_response(response: Any) -> None:
        if response.request.method == "HEAD" and "/api/v1/uploads/" in response.url:
            offsets.append(response.headers.get("upload-offset", ""))

    page.on("request", on_request)
    page.on("response", on_response)
    recording = speech_wav(tmp_path / "long-note.wav")
    page.set_input_files("[data-testid=file]", str(recording))
    page.wait_for_function(
        "() => (document.querySelector("
        "'[data-testid=outbox-item][data-state=uploading] progress')?.value ?? 0) >= 40",
        timeout=60_000,
    )
    phone.set_offline(True)
    reloaded_at = len(seen)
    with contextlib.suppress(Exception):  # offline: the service worker's shell, or an error page
        page.reload()
    phone.set_offline(False)
    if not page.query_selector("[data-testid=outbox]"):
        page.goto(f"/parent/child/{child_id}")
    page.on("request", on_request)
    page.on("response", on_response)
    page.wait_for_selector("[data-testid=outbox-item][data-state=ready]", timeout=120_000)

    after_reload = seen[reloaded_at:]
    assert ("POST", None) not in after_reload, "the upload was created again"
    assert sum(1 for method, _ in seen if method == "POST") == 1
    patches = [int(offset or 0) for method, offset in after_reload if method == "PATCH"]
    assert offsets, "no HEAD asked the server where to resume"
    assert patches[0] == int(offsets[0]) > 0, (patches, offsets)
    assert len(sent_messages(page, demo, child_id)) == before + 1


def test_the_child_records_a_reply_and_the_parent_plays_it(
    demo: Demo, phone: Any, tablet: Any
) -> None:
    kiosk = tablet.new_page()
    kiosk_sign_in(kiosk, demo, "Xiaoming")
    kiosk.locator("[data-testid=family-tile]", has_text="Li Qiang").click()
    kiosk.click("[data-testid=record-long]")
    kiosk.wait_for_selector("[data-testid=recorder][data-state=recording]")
    a11y(kiosk, "child recording a reply")
    kiosk.wait_for_timeout(5000)
    kiosk.click("[data-testid=stop-send]")
    kiosk.wait_for_selector("[data-testid=outbox-item][data-state=ready]", timeout=90_000)

    parent = phone.new_page()
    sign_in_parent(parent, "+8613800138000")
    a11y(parent, "parent home")
    parent.click(f"a[href='/parent/child/{demo.children['Xiaoming'][0]}']")
    reply = parent.locator("[data-testid=their-message]").last
    reply.locator("[data-testid=play]").click()
    parent.wait_for_function(
        "() => [...document.querySelectorAll('audio')].some(a => a.currentTime > 1)"
    )


def test_a_story_box_plays_with_the_network_off(demo: Demo, tablet: Any) -> None:
    kiosk = tablet.new_page()
    kiosk_sign_in(kiosk, demo, "Fang")
    kiosk.wait_for_function("() => navigator.serviceWorker.controller !== null")
    kiosk.click("[data-testid=stories-tile]")
    kiosk.wait_for_selector("[data-testid=box-story]")
    a11y(kiosk, "story shelf")
    cached = 0
    for _ in range(60):
        cached = kiosk.evaluate(
            "async () => (await (await caches.open('vb-stories-v1')).keys()).length"
        )
        if cached >= 2:
            break
        kiosk.wait_for_timeout(500)
    assert cached >= 2, "the story box's chapters were not cached"
    tablet.set_offline(True)
    try:
        kiosk.locator("[data-testid=box-story]").first.click()
        kiosk.wait_for_selector("[data-testid=chapter]")
        a11y(kiosk, "story chapters")
        kiosk.locator("[data-testid=chapter] [data-testid=play]").first.click()
        kiosk.wait_for_function(PLAYING)
    finally:
        tablet.set_offline(False)


def test_a_child_asking_for_help_with_nobody_on_duty_sees_the_crisis_lines(
    demo: Demo, tablet: Any
) -> None:
    doctors = [
        demo.token(login) for login in ("dr.chen@demo.voicebridge", "dr.liu@demo.voicebridge")
    ]
    for token in doctors:
        demo.json("PUT", "/psychologists/me/duty", token, json={"on_duty": False})
    try:
        kiosk = tablet.new_page()
        kiosk_sign_in(kiosk, demo, "Jun")
        kiosk.click("[data-testid=help]")
        kiosk.wait_for_selector("[data-testid=category-lonely]")
        a11y(kiosk, "help")
        kiosk.click("[data-testid=category-lonely]")
        kiosk.fill("#help-text", "我想妈妈")
        kiosk.click("[data-testid=help-send]")
        lines = kiosk.wait_for_selector("[data-testid=crisis-lines]")
        assert "12355" in lines.text_content()
        assert kiosk.text_content("[data-testid=help-state]")
        a11y(kiosk, "help sent")
    finally:
        for token in doctors:
            demo.json("PUT", "/psychologists/me/duty", token, json={"on_duty": True})


def test_a_child_changing_ids_in_the_url_reaches_nothing_of_another_child(
    demo: Demo, phone: Any, tablet: Any
) -> None:
    parent = phone.new_page()
    sign_in_parent(parent, "+8613800138000")
    token = parent_token(parent)
    [xiaoming_thread] = [
        t
        for t in demo.json("GET", "/threads", token)["items"]
        if t["child_id"] == demo.children["Xiaoming"][0]
    ]
    kiosk = tablet.new_page()
    kiosk_sign_in(kiosk, demo, "Fang")
    for path in (
        f"/kiosk/thread/{xiaoming_thread['id']}",
        f"/kiosk/stories/{xiaoming_thread['id']}",
        "/kiosk/thread/not-an-id",
    ):
        # What typing in the address bar does inside the app, without a reload
        # (a reload signs the child out, which is safer still).
        kiosk.evaluate(GO_TO, path)
        kiosk.wait_for_selector("[data-testid=not-found]")
        a11y(kiosk, "not found")
    kiosk.goto(f"/kiosk/thread/{xiaoming_thread['id']}")
    kiosk.wait_for_url("**/kiosk")
