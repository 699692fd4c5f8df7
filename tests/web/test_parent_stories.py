"""A parent's bedtime stories and hold-to-talk, in Chromium, against `voicebridge serve --demo`.

The fake microphone plays real speech. Pages are found by data-testid and ids;
every new screen is checked with axe-core.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.browser import Demo, start_demo
from tests.web.conftest import PHONE
from tests.web.conftest import axe_check as a11y
from tests.web.test_journeys import kiosk_sign_in, parent_token, sign_in_parent

PARENT = "+8613800138000"  # the demo's Li Qiang, father of Xiaoming
PLAYING_NOW = "() => [...document.querySelectorAll('audio')].some(a => a.currentTime > 0.3)"


def _shelf_has(kiosk: Any, title: str) -> bool:
    """Whether the child's shelf shows the family story (a tile: its face, then its title)."""
    with kiosk.expect_response(lambda r: r.url.endswith("/api/v1/stories") and r.ok):
        kiosk.click("[data-testid=stories-tile]")
    kiosk.wait_for_url("**/kiosk/stories")
    kiosk.wait_for_timeout(500)  # the shelf renders what the answer held
    tiles = kiosk.locator("[data-testid=family-story]").all_inner_texts()
    return any(text.strip().endswith(title) for text in tiles)


def test_parent_tells_a_bedtime_story_released_at_bedtime_and_sees_it_heard(
    demo: Demo, phone: Any, tablet: Any
) -> None:
    child_id = demo.children["Xiaoming"][0]
    parent = phone.new_page()
    sign_in_parent(parent, PARENT)
    parent.goto(f"/parent/child/{child_id}")
    parent.click("[data-testid=stories-link]")
    parent.wait_for_url(f"**/parent/child/{child_id}/stories")
    parent.wait_for_selector("#story-title")
    a11y(parent, "parent stories")
    title = "月亮上的兔子"
    parent.fill("#story-title", title)
    parent.click("[data-testid=create-story]")
    parent.wait_for_url("**/parent/stories/*")
    story_id = parent.url.rsplit("/", 1)[1]
    parent.wait_for_selector("#chapter-title")
    a11y(parent, "parent story")

    # The new chapter is released by default at the next bedtime, which is later than now.
    parent.fill("#chapter-title", "第一章")
    parent.click("[data-testid=record-long]")
    parent.wait_for_selector("[data-testid=recorder][data-state=recording]")
    parent.wait_for_timeout(6000)
    parent.click("[data-testid=stop-send]")
    parent.wait_for_selector("[data-testid=outbox-item][data-state=ready]", timeout=120_000)
    chapter = parent.wait_for_selector("[data-testid=story-chapter][data-state=ready]")
    assert chapter.get_attribute("data-released") == "false"
    assert parent.locator("[data-testid=chapter-heard][data-heard=no]").count() == 1
    a11y(parent, "parent story with a chapter")

    # Before its release the child's shelf does not have the story.
    kiosk = tablet.new_page()
    kiosk_sign_in(kiosk, demo, "Xiaoming")
    assert not _shelf_has(kiosk, title)

    # The parent moves the release to a minute or two from now on the school's clock.
    token = parent_token(parent)
    zone = ZoneInfo(demo.json("GET", f"/stories/{story_id}/chapters", token)["timezone"])
    release = (datetime.now(zone) + timedelta(seconds=70)).replace(second=0, microsecond=0)
    release += timedelta(minutes=1)
    parent.click("[data-testid=schedule]")
    parent.fill("#release-1-date", release.strftime("%Y-%m-%d"))
    parent.fill("#release-1-time", release.strftime("%H:%M"))
    a11y(parent, "parent schedules a chapter")
    parent.click("[data-testid=save-release]")
    parent.wait_for_selector("[data-testid=schedule]")
    [status] = demo.json("GET", f"/stories/{story_id}/chapters", token)["chapters"]
    assert datetime.fromisoformat(status["release_at"]) == release
    assert status["released"] is False

    wait = (release - datetime.now(zone)).total_seconds() + 2
    parent.wait_for_timeout(max(0.0, wait) * 1000)

    # After bedtime the child finds the story on the shelf and listens to the end.
    kiosk_sign_in(kiosk, demo, "Xiaoming")
    assert _shelf_has(kiosk, title)
    kiosk.locator("[data-testid=family-story]", has_text=title).click()
    kiosk.wait_for_selector("[data-testid=chapter] [data-testid=play]")
    a11y(kiosk, "child family story")
    # At normal speed: a few seconds, heard from start to end like a child would.
    kiosk.click("[data-testid=chapter] [data-testid=play]")
    kiosk.wait_for_function("() => document.querySelector('audio')?.ended === true", timeout=60_000)

    # The parent sees that the chapter was heard.
    for _ in range(30):
        parent.click("[data-testid=refresh-chapters]")
        parent.wait_for_timeout(1000)
        if parent.locator("[data-testid=chapter-heard][data-heard=yes]").count():
            break
    assert parent.locator("[data-testid=chapter-heard][data-heard=yes]").count() == 1
    assert parent.get_attribute("[data-testid=story-chapter]", "data-released") == "true"
    [status] = demo.json("GET", f"/stories/{story_id}/chapters", token)["chapters"]
    assert status["listeners"][0]["finished"] is True, status


def _hold(page: Any, seconds: float, slide_up: int = 0) -> None:
    button = page.locator("[data-testid=hold-to-talk]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.wait_for_selector("[data-testid=hold-to-talk][data-state=holding]")
    page.wait_for_timeout(seconds * 1000)
    if slide_up:
        page.mouse.move(x, y - slide_up, steps=5)
        page.wait_for_selector("[data-testid=hold-to-talk][data-state=cancelling]")
    page.mouse.up()


def test_hold_to_talk_sends_on_release_and_slide_up_cancels(demo: Demo, phone: Any) -> None:
    child_id = demo.children["Xiaoming"][0]
    page = phone.new_page()
    sign_in_parent(page, PARENT)
    page.goto(f"/parent/child/{child_id}")
    page.wait_for_selector("[data-testid=hold-to-talk]")
    outbox = "[data-testid=outbox-item]"
    before = page.locator(outbox).count()

    # Held for three seconds and released: a short note goes out and becomes ready.
    _hold(page, 3)
    page.wait_for_function(
        f"n => document.querySelectorAll('{outbox}').length > n", arg=before, timeout=30_000
    )
    page.wait_for_selector(f"{outbox}[data-state=ready]", timeout=120_000)
    sent = page.locator(outbox).count()
    assert sent == before + 1
    a11y(page, "parent thread after a held note")

    # Slid up while holding: nothing is sent.
    _hold(page, 2, slide_up=120)
    page.wait_for_selector("[data-testid=hold-note]")
    # A tap is too short to be a note: nothing is sent either.
    _hold(page, 0.1)
    page.wait_for_selector("[data-testid=hold-note]")
    page.wait_for_timeout(3000)
    assert page.locator(outbox).count() == sent
    # Neither left a recorder running.
    assert page.locator("[data-testid=recorder]").count() == 0


def test_audio_served_from_s3_plays_through_the_presigned_redirect(
    seaweed: Any, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the SeaweedFS store, /audio answers 307 to a presigned URL on the store's host:
    the page's CSP lets the app fetch it, the store's CORS answer lets it read it."""
    bucket = "vb-web-" + uuid.uuid4().hex[:8]
    for name, value in {
        "VOICEBRIDGE_STORAGE__BACKEND": "s3",
        "VOICEBRIDGE_STORAGE__ENDPOINT_URL": seaweed.endpoint_url,
        "VOICEBRIDGE_STORAGE__ACCESS_KEY_ID": seaweed.access_key_id,
        "VOICEBRIDGE_STORAGE__SECRET_ACCESS_KEY": seaweed.secret_access_key,
        "VOICEBRIDGE_STORAGE__BUCKET": bucket,
    }.items():
        monkeypatch.setenv(name, value)
    server = start_demo(tmp_path / "data")
    try:
        shell = httpx.get(f"{server.base}/parent", timeout=30)
        csp = shell.headers["content-security-policy"]
        assert f"connect-src 'self' {seaweed.endpoint_url}" in csp
        assert f"media-src 'self' blob: {seaweed.endpoint_url}" in csp

        context = browser.new_context(base_url=server.base, **PHONE)  # the app's own CSP
        context.set_default_timeout(30_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        redirects: list[str] = []
        page.on(
            "response",
            lambda r: (
                redirects.append(r.headers.get("location", ""))
                if r.status == 307 and "/audio" in r.url
                else None
            ),
        )
        sign_in_parent(page, PARENT)
        page.goto(f"/parent/child/{server.children['Xiaoming'][0]}")
        play = page.locator(
            "[data-testid=their-message] [data-testid=play], "
            "[data-testid=my-message] [data-testid=play]"
        ).first
        play.click()
        page.wait_for_function(PLAYING_NOW, timeout=30_000)
        assert redirects, "playback did not redirect to the store"
        assert redirects[0].startswith(seaweed.endpoint_url), redirects
        assert not [p for p in problems if "Content Security Policy" in p or "CORS" in p]
        context.close()
    finally:
        assert server.process is not None
        server.process.terminate()
        server.process.wait(30)
