"""Fixtures for the browser journeys: one demo server, one Chromium, phone and tablet pages."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import AXE, CHROMIUM, DIST, Demo, speech_wav, start_demo

# Journeys need the browser, Playwright and the built app; the other tests here need none.
JOURNEY_SKIP = (
    "Chromium is not installed (apt-get install chromium)"
    if CHROMIUM is None
    else "the web app is not built (pip install -e . with Node and npm)"
    if not DIST.is_file()
    else None
)

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if JOURNEY_SKIP:
        pytest.skip(JOURNEY_SKIP)
    root = tmp_path_factory.mktemp("web-demo")
    server = start_demo(root / "data")
    yield server
    assert server.process is not None
    server.process.terminate()
    server.process.wait(30)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if JOURNEY_SKIP:
        pytest.skip(JOURNEY_SKIP)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    wav = speech_wav(tmp_path_factory.mktemp("mic") / "speech.wav")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--autoplay-policy=no-user-gesture-required",
                "--no-sandbox",
            ],
        )
        yield chromium
        chromium.close()


def _context(browser: Any, demo: Demo, profile: dict[str, Any]) -> Any:
    # axe-core is injected as a script; the app's CSP (no inline script) would refuse it.
    context = browser.new_context(
        base_url=demo.base,
        bypass_csp=True,
        permissions=["microphone"],
        locale="zh-CN",
        **profile,
    )
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def phone(browser: Any, demo: Demo) -> Iterator[Any]:
    context = _context(browser, demo, PHONE)
    yield context
    context.close()


@pytest.fixture
def tablet(browser: Any, demo: Demo) -> Iterator[Any]:
    context = _context(browser, demo, TABLET)
    yield context
    context.close()


DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PSYCHOLOGISTS = ("dr.chen@demo.voicebridge", "dr.liu@demo.voicebridge")


@pytest.fixture
def desk(browser: Any, demo: Demo) -> Iterator[Any]:
    """A desktop console that may raise notifications and use the microphone."""
    context = _context(browser, demo, DESKTOP)
    context.grant_permissions(["notifications", "microphone"])
    yield context
    context.close()


@pytest.fixture
def desk2(browser: Any, demo: Demo) -> Iterator[Any]:
    """A second person's desktop (a supervisor beside the psychologist)."""
    context = _context(browser, demo, DESKTOP)
    yield context
    context.close()


@pytest.fixture
def psychologists_available(demo: Demo) -> None:
    """The demo's volunteers keep evening hours (Shanghai) and little room; the journeys
    run at any hour, and earlier journeys leave cases open with them."""
    always = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
    for login in PSYCHOLOGISTS:
        token = demo.token(login)
        demo.json(
            "PATCH", "/psychologists/me", token, json={"availability": always, "capacity": 20}
        )
        demo.json("PUT", "/psychologists/me/duty", token, json={"on_duty": True})


def console_sign_in(page: Any, login: str, lands: str) -> None:
    page.goto("/console/signin")
    page.fill("#login", login)
    page.fill("#password", "demo-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{lands}")


def axe_check(page: Any, screen: str) -> None:
    """No serious or critical accessibility violation on the screen the page shows."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"accessibility violations on {screen}: {json.dumps(bad, ensure_ascii=False)}"


@pytest.fixture
def a11y() -> Any:
    return axe_check


def shot_dir() -> Path:
    """Where journeys leave a picture of what they saw, if that folder exists (create it to
    look). Never docs/screenshots: the README's pictures are made by
    web/scripts/screenshots.py in both languages, and a test run must not rewrite them."""
    default = Path(tempfile.gettempdir()) / "voicebridge-journey-shots"
    return Path(os.environ.get("VOICEBRIDGE_JOURNEY_SHOTS", default))
