"""Screenshots of the main screens at phone and tablet size, for the README.

Run from the repository root after `pip install -e '.[test]'` (it needs the built
app, Playwright and Chromium): ``python web/scripts/screenshots.py``. It starts
``voicebridge serve --demo`` on a free loopback port (English by default; pass
``zh-CN`` for Chinese, which needs a CJK font such as fonts-noto-cjk) with a throwaway data
directory and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.web.browser import CHROMIUM, Demo, speech_wav, start_demo  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
# English: Debian's Chromium here has no CJK font (install fonts-noto-cjk for Chinese shots).
LANG = sys.argv[1] if len(sys.argv) > 1 else "en"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}


def shoot(page: Any, name: str) -> None:
    with contextlib.suppress(Exception):  # a busy machine: shoot what is there
        page.wait_for_load_state("networkidle", timeout=10_000)
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"docs/screenshots/{name}.png")  # noqa: T201


def parent(browser: Any, demo: Demo) -> None:
    context = browser.new_context(base_url=demo.base, **PHONE)
    context.add_init_script(f"localStorage.setItem('vb.lang', '{LANG}')")
    page = context.new_page()
    page.goto("/")
    shoot(page, "phone-welcome")
    page.goto("/parent/signin")
    page.fill("#login", "+8613800138000")
    page.fill("#password", "demo-password")
    shoot(page, "phone-sign-in")
    page.click("button[type=submit]")
    page.wait_for_url("**/parent")
    page.wait_for_selector("a[href^='/parent/child/']")
    shoot(page, "phone-children")
    page.click("a[href^='/parent/child/']")
    page.wait_for_selector("[data-testid=record-long]")
    shoot(page, "phone-conversation")
    page.click("[data-testid=record-long]")
    page.wait_for_selector("[data-testid=recorder][data-state=recording]")
    page.wait_for_timeout(3000)
    shoot(page, "phone-recording")
    page.click("[data-testid=stop-send]")
    context.close()


def kiosk(browser: Any, demo: Demo) -> None:
    context = browser.new_context(base_url=demo.base, **TABLET)
    context.add_init_script(f"localStorage.setItem('vb.lang', '{LANG}')")
    page = context.new_page()
    page.goto("/kiosk/setup")
    page.fill("#device-token", demo.device_token)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=roster-tile]")
    shoot(page, "tablet-roster")
    child_id, pin = demo.children["Xiaoming"]
    page.click(f"a[href='/kiosk/pin/{child_id}']")
    for digit in pin[:2]:
        page.click(f".pinpad button:text-is('{digit}')")
    shoot(page, "tablet-pin")
    for digit in pin[2:]:
        page.click(f".pinpad button:text-is('{digit}')")
    page.click("[data-testid=pin-ok]")
    page.wait_for_selector("[data-testid=family-tile]")
    shoot(page, "tablet-home")
    page.click("[data-testid=family-tile]")
    page.wait_for_selector("[data-testid=play]")
    shoot(page, "tablet-message")
    page.click("a[href='/kiosk/home']")
    page.click("[data-testid=stories-tile]")
    page.wait_for_selector("[data-testid=box-story]")
    shoot(page, "tablet-stories")
    page.click("[data-testid=help]")
    page.wait_for_selector("[data-testid=category-lonely]")
    page.click("[data-testid=category-lonely]")
    shoot(page, "tablet-help")
    context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise SystemExit("needs Chromium (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vb-shots-") as tmp, sync_playwright() as pw:
        wav = speech_wav(Path(tmp) / "speech.wav")
        demo = start_demo(Path(tmp) / "data")
        try:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-audio-capture={wav}",
                    "--no-sandbox",
                ],
            )
            parent(browser, demo)
            kiosk(browser, demo)
            browser.close()
        finally:
            assert demo.process is not None
            demo.process.terminate()


if __name__ == "__main__":
    main()
