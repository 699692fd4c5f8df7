"""A parent's bedtime stories and hold-to-talk, in Chromium, against `voicebridge serve --demo`.

The fake microphone plays real speech. Pages are found by data-testid and ids;
every new screen is checked with axe-core.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.web.browser import Demo
from tests.web.conftest import axe_check as a11y
from tests.web.test_journeys import kiosk_sign_in, parent_token, play_to_the_end, sign_in_parent

PARENT = "+8613800138000"  # the demo's Li Qiang, father of Xiaoming


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
    play_to_the_end(kiosk, kiosk.locator("[data-testid=chapter] [data-testid=play]").first)

    # The parent sees that the chapter was heard.
    for _ in range(30):
        parent.click("[data-testid=refresh-chapters]")
        parent.wait_for_timeout(1000)
        if parent.locator("[data-testid=chapter-heard][data-heard=yes]").count():
            break
    assert parent.locator("[data-testid=chapter-heard][data-heard=yes]").count() == 1
    assert parent.get_attribute("[data-testid=story-chapter]", "data-released") == "true"
    [status] = demo.json("GET", f"/stories/{story_id}/chapters", token)["chapters"]
    assert status["listeners"][0]["finished"] is True


def _hold(page: Any, seconds: float, slide_up: int = 0) -> None:
    box = page.locator("[data-testid=hold-to-talk]").bounding_box()
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
