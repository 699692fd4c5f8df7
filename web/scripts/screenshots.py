"""Screenshots of every screen for the README: parents at phone size, children at tablet
size, the console (psychologist, supervisor, school staff, moderator, admin) at desktop size.

Run from the repository root after `pip install -e '.[test]'` (it needs the built app,
Playwright, Chromium and Pillow): ``python web/scripts/screenshots.py [en] [zh-CN]``
(both by default). It starts ``voicebridge serve --demo`` on a free loopback port with a
throwaway data directory and writes docs/screenshots/<screen>.png (English) and
docs/screenshots/zh/<screen>.png (Chinese, the app's default).

Chinese needs a CJK font and every language needs a colour emoji font, or Chromium
draws empty boxes ("tofu"): on Debian, ``apt-get install fonts-noto-cjk
fonts-noto-color-emoji``. The script refuses to run without them.

Pictures are taken at 1x and quantised to a palette (Pillow) when larger than 300 KB.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.web.browser import CHROMIUM, Demo, speech_wav, start_demo  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
MAX_BYTES = 300_000
NARRATOR = "+8613700137000"
ALWAYS = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


def need_fonts(languages: list[str]) -> None:
    """Empty boxes instead of words or emoji make a useless picture: stop early instead."""
    if shutil.which("fc-list") is None:
        raise SystemExit(
            "needs fontconfig's fc-list to check the fonts (apt-get install fontconfig)"
        )
    missing = []
    if any(lang.startswith("zh") for lang in languages):
        cjk = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
        if not cjk.strip():
            missing.append("fonts-noto-cjk")
    emoji = subprocess.run(["fc-list", ":color=true"], capture_output=True, text=True).stdout
    if not emoji.strip():
        missing.append("fonts-noto-color-emoji")
    if missing:
        raise SystemExit(f"needs fonts for these screenshots: apt-get install {' '.join(missing)}")


class Shooter:
    def __init__(self, browser: Any, demo: Demo, lang: str) -> None:
        self.browser, self.demo, self.lang = browser, demo, lang
        self.out = OUT if lang == "en" else OUT / "zh"
        self.out.mkdir(parents=True, exist_ok=True)
        self.english = lang == "en"

    def context(self, profile: dict[str, Any], **extra: Any) -> Any:
        context = self.browser.new_context(
            base_url=self.demo.base,
            locale="en-US" if self.english else "zh-CN",
            **profile,
            **extra,
        )
        context.add_init_script(f"localStorage.setItem('vb.lang', '{self.lang}')")
        context.set_default_timeout(30_000)
        return context

    def shoot(self, page: Any, name: str, *, full_page: bool = False) -> None:
        with contextlib.suppress(Exception):  # a busy machine: shoot what is there
            page.wait_for_load_state("networkidle", timeout=10_000)
        page.wait_for_timeout(300)  # let the fonts settle
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
        small(path)
        print(f"{path.relative_to(ROOT)} {path.stat().st_size // 1024} KB")  # noqa: T201

    # Text that changes with the language (what a person would type).
    def words(self, en: str, zh: str) -> str:
        return en if self.english else zh


def small(path: Path) -> None:
    """Screenshots are mostly flat colour: a 256-colour palette keeps them readable and small."""
    if path.stat().st_size <= MAX_BYTES:
        return
    from PIL import Image

    with Image.open(path) as image:
        quantised = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    quantised.save(path, optimize=True)


def parent(s: Shooter) -> None:
    context = s.context(PHONE)
    page = context.new_page()
    page.goto("/")
    s.shoot(page, "phone-welcome")
    page.goto("/parent/signin")
    page.fill("#login", "+8613800138000")
    page.fill("#password", "demo-password")
    s.shoot(page, "phone-sign-in")
    page.click("button[type=submit]")
    page.wait_for_url("**/parent")
    page.wait_for_selector("a[href^='/parent/child/']")
    s.shoot(page, "phone-children")
    page.click("a[href^='/parent/child/']")
    page.wait_for_selector("[data-testid=record-long]")
    s.shoot(page, "phone-conversation")
    page.click("[data-testid=record-long]")
    page.wait_for_selector("[data-testid=recorder][data-state=recording]")
    page.wait_for_timeout(3000)
    s.shoot(page, "phone-recording")
    page.click("[data-testid=stop-send]")
    page.wait_for_timeout(1000)
    context.close()


def kiosk(s: Shooter) -> None:
    context = s.context(TABLET)
    page = context.new_page()
    page.goto("/kiosk/setup")
    page.fill("#device-token", s.demo.device_token)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=roster-tile]")
    s.shoot(page, "tablet-roster")
    child_id, pin = s.demo.children["Xiaoming"]
    page.click(f"a[href='/kiosk/pin/{child_id}']")
    for digit in pin[:2]:
        page.click(f".pinpad button:text-is('{digit}')")
    s.shoot(page, "tablet-pin")
    for digit in pin[2:]:
        page.click(f".pinpad button:text-is('{digit}')")
    page.click("[data-testid=pin-ok]")
    page.wait_for_selector("[data-testid=family-tile]")
    s.shoot(page, "tablet-home")
    page.click("[data-testid=family-tile]")
    page.wait_for_selector("[data-testid=play]")
    s.shoot(page, "tablet-message")
    page.click("a[href='/kiosk/home']")
    page.click("[data-testid=stories-tile]")
    page.wait_for_selector("[data-testid=box-story]")
    s.shoot(page, "tablet-stories")
    page.click("[data-testid=help]")
    page.wait_for_selector("[data-testid=category-lonely]")
    page.click("[data-testid=category-lonely]")
    s.shoot(page, "tablet-help")
    context.close()


def console_page(s: Shooter, login: str, lands: str, profile: dict[str, Any] = DESKTOP) -> Any:
    context = s.context(profile, permissions=["microphone"])
    page = context.new_page()
    page.goto("/console/signin")
    page.fill("#login", login)
    page.fill("#password", "demo-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{lands}")
    return page


def child_asks_for_help(demo: Demo, child: str, text: str) -> str:
    child_id, pin = demo.children[child]
    with demo.api() as api:
        answer = api.post(
            "/auth/child-login",
            json={"child_id": child_id, "pin": pin},
            headers={"X-Device-Token": demo.device_token},
        )
        answer.raise_for_status()
    token = answer.json()["access_token"]
    body = {"category": "lonely", "not_safe": True, "text": text, "language": "cmn"}
    return str(demo.json("POST", "/help/requests", token, json=body)["request"]["id"])


def psychologist(s: Shooter) -> None:
    demo = s.demo
    for login in ("dr.chen@demo.voicebridge", "dr.liu@demo.voicebridge"):
        token = demo.token(login)
        demo.json("PATCH", "/psychologists/me", token, json={"availability": ALWAYS})
        demo.json("PUT", "/psychologists/me/duty", token, json={"on_duty": True})
    page = console_page(s, "dr.chen@demo.voicebridge", "/console/help")
    page.wait_for_selector("[data-testid=live-status][data-status=open]")
    request_id = child_asks_for_help(
        demo, "Fang", s.words("I am not safe, I miss my mum", "我不安全，我想妈妈")
    )
    offer = f"[data-testid=offer][data-request='{request_id}']"
    page.wait_for_selector(f"{offer} [data-testid=decline]")
    s.shoot(page, "console-queue")
    phone = console_page(s, "dr.chen@demo.voicebridge", "/console/help", PHONE)
    phone.wait_for_selector(f"{offer} [data-testid=decline]")
    s.shoot(phone, "phone-console-queue")
    phone.context.close()

    page.click(f"{offer} [data-testid=accept]")
    page.wait_for_url(f"**/console/case/{request_id}")
    page.wait_for_selector("[data-testid=case][data-state=assigned]")
    hello = s.words("I am here. Can you tell me what happened?", "我在这里。能告诉我发生了什么吗？")
    page.fill("#reply", hello)
    page.click("[data-testid=send-reply]")
    page.wait_for_selector("[data-testid=case-message][data-state=visible]")
    # A reply with a phone number is held for a supervisor.
    page.fill("#reply", s.words("Call me on 13912345678", "有事打我电话 13912345678"))
    page.click("[data-testid=send-reply]")
    page.wait_for_selector("[data-testid=case-message][data-state=held_for_review]")
    s.shoot(page, "console-case", full_page=True)
    page.context.close()

    supervisor = console_page(s, "dr.liu@demo.voicebridge", "/console/help")
    supervisor.goto("/console/supervisor")
    supervisor.wait_for_selector("[data-testid=held-message]")
    s.shoot(supervisor, "console-supervisor", full_page=True)
    supervisor.context.close()


def staff(s: Shooter) -> None:
    page = console_page(s, "teacher@demo.voicebridge", "/console/school")
    page.wait_for_selector("#roster-text")
    s.shoot(page, "console-school")
    rows = ["given_name,family_name,class,birth_year,pin"]
    names = ["Lei", "Na", "Tao", "Yu", "Hao", "Jing"]
    if not s.english:
        names = ["磊", "娜", "涛", "雨", "浩", "静"]
    family = "Zhao" if s.english else "赵"
    rows += [f"{n},{family},Grade 5,2016,{3000 + i}" for i, n in enumerate(names)]
    rows[2] = f"{names[1]},{family},Grade 5,1890,3001"
    rows[5] = f",{family},Grade 5,2016,3004"
    page.fill("#roster-text", "\n".join(rows))
    page.click("[data-testid=roster-preview]")
    page.wait_for_selector("[data-testid=roster-error]")
    section = page.locator("section[aria-labelledby=roster-h]")
    section.scroll_into_view_if_needed()
    s.shoot(page, "console-roster")
    page.locator("[data-testid=invite]").first.click()
    page.wait_for_url("**/console/slip")
    page.wait_for_selector("[data-testid=slip] [data-testid=qr]")
    s.shoot(page, "console-slip", full_page=True)
    page.context.close()


def submitted_story(s: Shooter) -> None:
    """A narrator's new story with one chapter, waiting in the moderators' queue."""
    demo, narrator = s.demo, s.demo.token(NARRATOR)
    title = s.words("The Little Yak", "小牦牛")
    body = {"visibility": "public", "title": title, "language": "zh", "age_min": 5, "age_max": 9}
    body["description"] = s.words("A yak calf finds its way home", "一头小牦牛找到回家的路")
    story_id = demo.json("POST", "/stories", narrator, json=body)["id"]
    with demo.api(narrator) as api:
        api.post(
            "/uploads/single",
            params={"purpose": "story_chapter", "story_id": story_id},
            content=(ROOT / "samples" / "chapter-1.m4a").read_bytes(),
            headers={"content-type": "audio/mp4"},
        ).raise_for_status()
    deadline = time.monotonic() + 120
    while not demo.json("GET", f"/stories/{story_id}", narrator)["chapters"]:
        if time.monotonic() > deadline:
            raise SystemExit("the story's chapter was not processed in 120 s")
        time.sleep(0.5)
    demo.json("POST", f"/stories/{story_id}/submit", narrator)


def moderator(s: Shooter) -> None:
    submitted_story(s)
    page = console_page(s, "moderator@demo.voicebridge", "/console/moderation")
    page.wait_for_selector("[data-testid=review-story]")
    s.shoot(page, "console-moderation", full_page=True)
    page.context.close()


def admin(s: Shooter) -> None:
    page = console_page(s, "admin@demo.voicebridge", "/console/admin")
    page.wait_for_selector("[data-testid=impact-table] tbody tr")
    page.wait_for_selector("[data-testid=chart-contact] svg")
    s.shoot(page, "console-impact", full_page=True)
    page.context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    languages = sys.argv[1:] or ["en", "zh-CN"]
    if CHROMIUM is None:
        raise SystemExit("needs Chromium (apt-get install chromium)")
    need_fonts(languages)
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
            for lang in languages:
                shooter = Shooter(browser, demo, lang)
                for screens in (parent, kiosk, psychologist, staff, moderator, admin):
                    screens(shooter)
            browser.close()
        finally:
            assert demo.process is not None
            demo.process.terminate()


if __name__ == "__main__":
    main()
