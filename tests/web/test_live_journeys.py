"""Live updates across browsers and across a restart, in Chromium.

(d) A moderator plays a chapter in the review queue and approves the story; a
child's kiosk shelf, open in another browser context, shows it without a
reload. (e) The psychologist's console keeps its stream through a server
restart (SIGTERM, then the same server on the same port and data): it
reconnects with ``Last-Event-ID`` and every critical offer raised just before,
during and just after the restart reaches it as an event (its alarm rings and
a browser notification names the request), with no reload.

Same server and browser as the other journeys (``serve --demo``: SQLite, live
events through the in-process broker).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import ROOT, Demo
from tests.web.conftest import _context
from tests.web.conftest import axe_check as a11y
from tests.web.test_journeys import kiosk_sign_in

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
NARRATOR = "+8613700137000"  # the demo's verified narrator
MODERATOR = "moderator@demo.voicebridge"


@pytest.fixture
def desk(browser: Any, demo: Demo) -> Iterator[Any]:
    context = _context(browser, demo, DESKTOP)
    yield context
    context.close()


def console_sign_in(page: Any, login: str, lands: str) -> None:
    page.goto("/console/signin")
    page.fill("#login", login)
    page.fill("#password", "demo-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{lands}")


def mark_document(page: Any) -> None:
    """A flag on this document: a reload (or a navigation) would lose it."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Any) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def _reviewed_story_on_no_shelf(demo: Demo) -> str:
    """A narrator's new public story with one processed chapter, approved and published."""
    narrator, moderator = demo.token(NARRATOR), demo.token(MODERATOR)
    story = demo.json(
        "POST",
        "/stories",
        narrator,
        json={
            "visibility": "public",
            "title": "The Little Yak",
            "language": "zh",
            "age_min": 5,
            "age_max": 9,
            "tags": ["animals"],
        },
    )
    story_id = str(story["id"])
    with demo.api(narrator) as api:
        uploaded = api.post(
            "/uploads/single",
            params={"purpose": "story_chapter", "story_id": story_id},
            content=(ROOT / "samples" / "chapter-2.m4a").read_bytes(),
            headers={"content-type": "audio/mp4"},
        )
        assert uploaded.status_code < 400, uploaded.text
    deadline = time.monotonic() + 120
    while not demo.json("GET", f"/stories/{story_id}", narrator)["chapters"]:
        assert time.monotonic() < deadline, "the chapter was not processed in 120 s"
        time.sleep(0.5)
    demo.json("POST", f"/stories/{story_id}/submit", narrator)
    demo.json("POST", f"/moderation/stories/{story_id}/approve", moderator)
    demo.json("POST", f"/stories/{story_id}/publish", narrator)
    return story_id


def test_moderator_approves_after_playing_a_chapter_and_the_kiosk_shelf_shows_it_live(
    demo: Demo, desk: Any, tablet: Any
) -> None:
    story_id = _reviewed_story_on_no_shelf(demo)
    moderator = demo.token(MODERATOR)
    tile = f"[data-testid=box-story][href^='/kiosk/stories/{story_id}?']"

    # Xiaoming (Grade 3) has the class shelf open on the school tablet.
    kiosk = tablet.new_page()
    kiosk_sign_in(kiosk, demo, "Xiaoming")
    kiosk.click("[data-testid=stories-tile]")
    kiosk.wait_for_selector("[data-testid=box-story]")
    assert kiosk.query_selector(tile) is None
    mark_document(kiosk)

    # The moderator puts it in Grade 3's box: it appears on the open shelf.
    demo.json("POST", f"/storyboxes/{demo.box_id}/stories", moderator, json={"story_id": story_id})
    kiosk.wait_for_selector(tile, timeout=5000)
    # The narrator changes it: it goes back to review and leaves the shelf at once.
    new_title = "The Little Yak Finds Home"
    demo.json("PATCH", f"/stories/{story_id}", demo.token(NARRATOR), json={"title": new_title})
    kiosk.wait_for_selector(tile, state="detached", timeout=5000)

    # The moderator plays the changed story's chapter to its end in the review queue...
    console = desk.new_page()
    console_sign_in(console, MODERATOR, "/console/moderation")
    card = f"[data-testid=review-story][data-story='{story_id}']"
    console.wait_for_selector(card)
    a11y(console, "moderation queue")
    console.click(f"{card} [data-testid=play]")
    console.wait_for_function(
        "card => { const a = document.querySelector(card + ' audio');"
        " return a && !a.paused && a.currentTime > 0; }",
        arg=card,
    )
    console.eval_on_selector(f"{card} audio", "a => { a.playbackRate = 8; }")
    console.wait_for_selector(f"{card} .ok", timeout=30_000)  # "heard to the end"
    # ...and approves it: it is back on the child's shelf, with its new title, no reload.
    approval = f"/moderation/stories/{story_id}/approve"
    with console.expect_response(lambda r: r.url.endswith(approval)) as answer:
        console.click(f"{card} [data-testid=approve-story]")
    approved = time.monotonic()
    assert answer.value.status == 200, answer.value.text()
    assert answer.value.json()["status"] == "published"
    kiosk.wait_for_selector(tile, timeout=5000)
    shown = time.monotonic() - approved
    assert new_title in (kiosk.text_content(tile) or "")
    assert same_document(kiosk), "the shelf was reloaded"
    console.wait_for_selector(card, state="detached")
    # The child can open it and play the approved chapter.
    kiosk.click(tile)
    kiosk.wait_for_selector("[data-testid=chapter] [data-testid=play]")
    print(f"approved story on the kiosk shelf {shown:.3f} s after the approval")  # noqa: T201


# (e) ----------------------------------------------------------------------------------


@pytest.fixture
def psychologists_available(demo: Demo) -> None:
    """The demo's volunteers keep evening hours (Shanghai); the journeys run at any hour."""
    always = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
    for login in ("dr.chen@demo.voicebridge", "dr.liu@demo.voicebridge"):
        token = demo.token(login)
        demo.json("PATCH", "/psychologists/me", token, json={"availability": always})
        demo.json("PUT", "/psychologists/me/duty", token, json={"on_duty": True})


def _child_says_not_safe(demo: Demo, child: str) -> str:
    """A child on the school tablet asks for help and says they are not safe (critical)."""
    child_id, pin = demo.children[child]
    with demo.api() as api:
        signed_in = api.post(
            "/auth/child-login",
            json={"child_id": child_id, "pin": pin},
            headers={"X-Device-Token": demo.device_token},
        )
        assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    made = demo.json(
        "POST",
        "/help/requests",
        token,
        json={"category": "other", "not_safe": True, "text": "我不安全", "language": "cmn"},
    )
    return str(made["request"]["id"])


def _child_says_not_safe_elsewhere(data_dir: Path, child_id: str) -> str:
    """The same request raised by another process on the same database while the server is
    down (on PostgreSQL, another API process or a worker; here, this test's process)."""
    from sqlmodel import Session

    from voicebridge.config import Settings
    from voicebridge.db import make_engine
    from voicebridge.help import service
    from voicebridge.help.models import Category

    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'voicebridge.db'}")
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            child = service.enrolled_child(session, uuid.UUID(child_id))
            request, _ = service.create_request(
                session,
                settings.help,
                child,
                category=Category.other,
                not_safe=True,
                text="我不安全",
                language="cmn",
            )
            session.commit()
            return str(request.id)
    finally:
        engine.dispose()


# Every critical offer heard on the stream raises a browser notification tagged with its
# request (the queue's refetch raises none): recording them tells which offers came as events.
HEARD_AS_EVENTS = """
window.__notified = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notified.push(options && options.tag); }
};
"""


def test_console_stream_survives_a_restart_and_misses_no_offer(
    demo: Demo, desk: Any, psychologists_available: None
) -> None:
    assert demo.data_dir is not None
    desk.add_init_script(HEARD_AS_EVENTS)
    console = desk.new_page()
    resumed_from: list[str | None] = []
    console.on(
        "request",
        lambda r: (
            resumed_from.append(r.headers.get("last-event-id"))
            if r.url.endswith("/api/v1/events")
            else None
        ),
    )
    console_sign_in(console, "dr.chen@demo.voicebridge", "/console/help")
    console.wait_for_selector("[data-testid=duty]:checked")
    console.wait_for_selector("[data-testid=live-status][data-status=open]")
    console.wait_for_selector("[data-testid=queue]")
    mark_document(console)
    streams_before = len(resumed_from)

    # Raised just before the server is told to stop: it may or may not make it out.
    just_before = _child_says_not_safe(demo, "Xiaoming")
    demo.stop()
    console.wait_for_selector("[data-testid=live-status]:not([data-status=open])")
    while_down = _child_says_not_safe_elsewhere(demo.data_dir, demo.children["Fang"][0])
    demo.start()
    # Raised at once on the restarted server, most likely before the console is back.
    just_after = _child_says_not_safe(demo, "Jun")

    console.wait_for_selector("[data-testid=live-status][data-status=open]", timeout=60_000)
    offers = (just_before, while_down, just_after)
    for request_id in offers:
        console.wait_for_selector(
            f"[data-testid=offer][data-urgency=critical][data-request='{request_id}']",
            timeout=30_000,
        )
    # Each offer arrived as an event (an offer expiring meanwhile on a slow machine is
    # offered again, so a request may be heard more than once, never less).
    console.wait_for_function(
        "ids => ids.every(id => window.__notified.includes(id))", arg=list(offers)
    )
    notified = console.evaluate("window.__notified")
    assert set(offers) <= set(notified), notified
    assert int(console.get_attribute("[data-testid=queue]", "data-alarms") or 0) >= 3
    assert same_document(console), "the console was reloaded"
    reconnects = resumed_from[streams_before:]
    assert reconnects, "the console never reconnected"
    assert all(h is not None and h.isdigit() for h in reconnects), reconnects
    a11y(console, "psychologist queue after a restart")
