"""What a phone downloads before the first screen; optionally Lighthouse and the heap.

Run by hand: ``python bench/web.py [--lighthouse] [--heap MINUTES]``

* ``first_screen_kb``: for each face of the app (the welcome page, the
  parent's first screen, the kiosk's first screen), the JavaScript and CSS
  Chromium fetched until that screen shows, gzipped (-9) as a proxy or CDN
  would send them; the budget is 150 KB each.
* ``--lighthouse``: Lighthouse (from npm: ``lighthouse`` on PATH, in
  web/node_modules or at $LIGHTHOUSE) on the parent's and the kiosk's first
  screens with its mobile profile, pointed at Debian's Chromium; aims:
  performance >= 90, accessibility >= 95, best practices >= 95.
* ``--heap MINUTES``: a parent records for MINUTES (whole minutes) with the
  fake microphone; the page's JS heap after a forced garbage collection at
  every minute (the recorder writes to IndexedDB, so the last should stay
  within 20% of the first).

The server is ``voicebridge serve`` on loopback (``--demo`` for the heap run).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (puts the repository root on sys.path)
import httpx
from tests.web.browser import CHROMIUM, ROOT, free_port, speech_wav, start_demo

BUDGET_KB = 150
FACES = {
    "welcome": ("/", "a[href='/parent']", {"width": 390, "height": 844}),
    "parent": ("/parent", "#login", {"width": 390, "height": 844}),
    "kiosk": ("/kiosk", "#device-token", {"width": 1024, "height": 768}),
}


def serve(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "VOICEBRIDGE_DATA_DIR": str(data), "VOICEBRIDGE_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "voicebridge"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError("voicebridge serve did not start")


def first_screen(browser: Any, base: str) -> dict[str, float]:
    sizes: dict[str, float] = {}
    for face, (path, selector, viewport) in FACES.items():
        context = browser.new_context(base_url=base, viewport=viewport, service_workers="block")
        page = context.new_page()
        bodies: list[bytes] = []

        def keep(response: Any, into: list[bytes] = bodies) -> None:
            if response.request.resource_type in ("script", "stylesheet") and response.ok:
                into.append(response.body())

        page.on("response", keep)
        page.goto(path)
        page.wait_for_selector(selector)
        page.wait_for_load_state("networkidle")
        sizes[face] = round(sum(len(gzip.compress(b, 9)) for b in bodies) / 1024, 1)
        context.close()
    return sizes


LIGHTHOUSE_PAGES = {"parent": "/parent/signin", "kiosk": "/kiosk"}


def lighthouse(base: str) -> dict[str, Any]:
    """Each face's first screen: the parent's sign-in and the kiosk's first screen."""
    return {face: lighthouse_page(base + path) for face, path in LIGHTHOUSE_PAGES.items()}


def lighthouse_page(url: str) -> dict[str, Any]:
    found = (
        os.environ.get("LIGHTHOUSE")
        or shutil.which("lighthouse")
        or str(ROOT / "web" / "node_modules" / ".bin" / "lighthouse")
    )
    if not Path(found).exists():
        return {"skipped": "lighthouse is not installed (npm install -g lighthouse)"}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                found,
                url,
                "--output=json",
                f"--output-path={report}",
                "--only-categories=performance,accessibility,best-practices",
                "--chrome-flags=--headless=new --no-sandbox",
                "--quiet",
            ],
            env={**os.environ, "CHROME_PATH": CHROMIUM or "chromium"},
            check=True,
            timeout=300,
        )
        data = json.loads(report.read_text())
    scores: dict[str, Any] = {
        name: round(data["categories"][key]["score"] * 100)
        for name, key in (
            ("performance", "performance"),
            ("accessibility", "accessibility"),
            ("best_practices", "best-practices"),
        )
    }
    for audit in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time"):
        scores[audit] = round(data["audits"][audit]["numericValue"])
    return scores


def heap(browser_type: Any, minutes: float, wav: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vb-heap-") as tmp:
        demo = start_demo(Path(tmp) / "data")
        try:
            browser = browser_type.launch(
                executable_path=CHROMIUM,
                args=[
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-audio-capture={wav}",
                    "--no-sandbox",
                ],
            )
            context = browser.new_context(base_url=demo.base, permissions=["microphone"])
            page = context.new_page()
            page.goto("/parent/signin")
            page.fill("#login", "+8613800138000")
            page.fill("#password", "demo-password")
            page.click("button[type=submit]")
            page.wait_for_url("**/parent")
            page.click("a[href^='/parent/child/']")
            page.click("[data-testid=record-long]")
            page.wait_for_selector("[data-testid=recorder][data-state=recording]")
            cdp = context.new_cdp_session(page)

            def used_mb() -> float:
                cdp.send("HeapProfiler.collectGarbage")
                return float(cdp.send("Runtime.getHeapUsage")["usedSize"]) / 2**20

            # One sample a minute (after a forced GC), so growth shows as a trend, not two points.
            samples: dict[str, float] = {}
            started = time.monotonic()
            for minute in range(1, int(minutes) + 1):
                page.wait_for_timeout(max(0.0, started + minute * 60 - time.monotonic()) * 1000)
                samples[f"heap_mb_{minute}min"] = round(used_mb(), 2)
            elapsed = page.inner_text("[data-testid=elapsed]")
            page.click("[data-testid=stop-send]")
            browser.close()
        finally:
            assert demo.process is not None
            demo.process.terminate()
    return {**samples, "recorder_elapsed": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lighthouse", action="store_true")
    parser.add_argument("--heap", type=float, default=0.0, metavar="MINUTES")
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("needs Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"budget_kb": BUDGET_KB}
    with tempfile.TemporaryDirectory(prefix="vb-web-") as tmp, sync_playwright() as pw:
        process, base = serve(Path(tmp) / "data")
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            result["first_screen_kb"] = first_screen(browser, base)
            browser.close()
            result["within_budget"] = max(result["first_screen_kb"].values()) <= BUDGET_KB
            if args.lighthouse:
                result["lighthouse"] = lighthouse(base)
        finally:
            process.terminate()
            process.wait(30)
        if args.heap:
            wav = speech_wav(Path(tmp) / "speech.wav")
            figures = heap(pw.chromium, args.heap, wav)
            result["heap"] = figures
            values = [v for v in figures.values() if isinstance(v, float)]
            result["heap_growth"] = round(values[-1] / values[0] - 1, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
