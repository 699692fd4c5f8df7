"""Every screen of the app, as its signed-in role, passes axe-core (issues 10 and 11).

The screens are read from the route tables (web/src/**/routes.ts and the app's
own "/" route), so a route added without a visit here fails the test. Each
screen is opened on the demo server (`voicebridge serve --demo`) with real ids
from the demo data, at phone and desktop size, in Chinese and in English, and
axe-core runs on it: any serious or critical violation fails, and all of them
are listed together (screen, size, language, rule, elements).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.browser import AXE, ROOT, Demo, demo_school
from tests.web.conftest import PHONE

SRC = ROOT / "web" / "src"
ROUTE = re.compile(r"""\bpath:\s*["']([^"']+)["']""")
GO_TO = "p => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }"

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
LANGS = ("zh-CN", "en")

# Who opens each screen, in the order each role visits them. `:name` parameters are
# filled from the demo data (see `world`); a parameter nobody knows fails loudly.
PARENT = "+8613800138000"  # Li Qiang, Xiaoming's father
LOGINS = {
    "parent": PARENT,
    "psychologist": "dr.chen@demo.voicebridge",
    "supervisor": "dr.liu@demo.voicebridge",
    "staff": "teacher@demo.voicebridge",
    "moderator": "moderator@demo.voicebridge",
    "admin": "admin@demo.voicebridge",
}
VISITS: dict[str, list[str]] = {
    # Nobody signed in, on a phone or on a tablet not yet set up as a kiosk.
    "anonymous": ["/", "/parent/signin", "/parent/register", "/console/signin", "/kiosk/setup"],
    "parent": [
        "/parent",
        "/parent/join",
        "/parent/child/:childId",
        "/parent/child/:childId/stories",
        "/parent/stories/:storyId",
    ],
    # The school tablet: the roster, Xiaoming's PIN pad, then Xiaoming signed in.
    "kiosk": [
        "/kiosk",
        "/kiosk/pin/:childId",
        "/kiosk/home",
        "/kiosk/thread/:threadId",
        "/kiosk/stories",
        "/kiosk/stories/:storyId",
        "/kiosk/help",
    ],
    "psychologist": ["/console/help", "/console/profile", "/console/case/:requestId"],
    "supervisor": ["/console/supervisor"],
    "staff": ["/console/school", "/console/slip"],
    "moderator": ["/console/moderation"],
    "admin": [
        "/console",
        "/console/admin",
        "/console/admin/schools",
        "/console/admin/people",
        "/console/admin/jobs",
        "/console/school/:schoolId",
    ],
}


def app_routes() -> set[str]:
    """Every path pattern of the app: the route tables of each face and the app's own."""
    files = sorted(SRC.rglob("routes.ts")) + [SRC / "app.tsx"]
    found = {path for f in files for path in ROUTE.findall(f.read_text())}
    assert {"/", "/parent", "/kiosk", "/console"} <= found, files
    return found


def test_every_route_has_a_visit() -> None:
    visited = [route for routes in VISITS.values() for route in routes]
    assert len(visited) == len(set(visited)), "a route is visited twice"
    missing = sorted(app_routes() - set(visited))
    gone = sorted(set(visited) - app_routes())
    assert not missing, f"routes no one visits (add them to VISITS): {missing}"
    assert not gone, f"visits of routes that no longer exist: {gone}"


@pytest.fixture(scope="module")
def world(demo: Demo) -> Iterator[dict[str, Any]]:
    """Real ids from the demo data for every `:param`, and an open help case for Dr Chen."""
    parent = demo.token(PARENT)
    moderator = demo.token(LOGINS["moderator"])
    admin = demo.token(LOGINS["admin"])
    teacher = demo.token(LOGINS["staff"])
    xiaoming, pin = demo.children["Xiaoming"]
    threads = demo.json("GET", "/threads", parent)["items"]
    [thread] = [t for t in threads if t["child_id"] == xiaoming]
    [story] = demo.json("GET", f"/storyboxes/{demo.box_id}", moderator)["stories"]
    school = demo_school(demo, admin)
    # The parent's own page of a story is for a story they tell (a bedtime story for Xiaoming).
    told = demo.json(
        "POST",
        "/stories",
        parent,
        json={
            "visibility": "private",
            "title": "Bedtime in Shenzhen",
            "child_ids": [xiaoming],
            "description": "",
            "language": "zh",
            "age_min": 3,
            "age_max": 15,
        },
    )

    # The demo's volunteers keep evening hours (Shanghai); this runs at any hour.
    always = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
    for login in (LOGINS["psychologist"], LOGINS["supervisor"]):
        token = demo.token(login)
        demo.json("PATCH", "/psychologists/me", token, json={"availability": always})
        demo.json("PUT", "/psychologists/me/duty", token, json={"on_duty": True})

    # Jun asks for help on the school tablet; Dr Chen takes the case.
    jun, jun_pin = demo.children["Jun"]
    device = {"X-Device-Token": demo.device_token}
    with demo.api() as api:
        login = api.post(
            "/auth/child-login", json={"child_id": jun, "pin": jun_pin}, headers=device
        )
        assert login.status_code == 200, login.text
    child = login.json()["access_token"]
    asked = demo.json(
        "POST",
        "/help/requests",
        child,
        headers=device,
        json={"category": "lonely", "not_safe": False, "text": "I miss my mum", "voice": False},
    )
    request_id = asked["request"]["id"]
    # The router offers it to one of the two on duty; whoever it reaches takes the case and
    # is the psychologist who opens the console's psychologist screens.
    volunteers = {
        login: demo.token(login) for login in (LOGINS["psychologist"], LOGINS["supervisor"])
    }
    deadline = time.monotonic() + 30
    holder = None
    while holder is None:
        for login, token in volunteers.items():
            with demo.api(token) as api:
                if api.post(f"/help/requests/{request_id}/accept").status_code == 200:
                    holder = login
                    break
        else:
            assert time.monotonic() < deadline, f"nobody was offered help request {request_id}"
            time.sleep(0.3)

    # The slip the school page leaves for the print screen.
    fang = demo.children["Fang"][0]
    invitation = demo.json(
        "POST", f"/children/{fang}/invitations", teacher, json={"relation": "mother"}
    )
    slip = {
        "code": invitation["code"],
        "child": "Zhang Fang",
        "school": school["name"],
        "expires": invitation.get("expires_at", "2026-12-31T00:00:00Z"),
    }
    yield {
        "params": {
            "childId": xiaoming,
            "threadId": thread["id"],
            "storyId": story["id"],
            "schoolId": school["id"],
            "requestId": request_id,
        },
        "told": {"storyId": told["id"]},
        "pin": pin,
        "logins": {**LOGINS, "psychologist": holder},
        "slip": slip,
    }
    # Leave Dr Chen free for the other journeys sharing this server.
    demo.json(
        "POST",
        f"/help/requests/{request_id}/close",
        volunteers[holder],
        json={"outcome_notes": "axe sweep"},
    )


def fill(route: str, params: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        assert m.group(1) in params, f"no demo id for :{m.group(1)} in {route}"
        return params[m.group(1)]

    return re.sub(r":(\w+)", value, route)


class Sweep:
    """One page per role; API requests in flight are counted so a screen is checked settled."""

    def __init__(self, page: Any, label: str) -> None:
        self.page = page
        self.label = label
        self.pending: set[Any] = set()
        self.found: list[dict[str, Any]] = []
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, request: Any) -> None:
        # Not the live stream, nor the kiosk's background copy of a story box's audio.
        url = request.url
        if "/api/" in url and not url.endswith("/api/v1/events") and "/sync/files/" not in url:
            self.pending.add(request)

    def _end(self, request: Any) -> None:
        self.pending.discard(request)

    def settle(self) -> None:
        page = self.page
        page.wait_for_function(
            "() => document.body.innerText.trim() && !document.querySelector('.spinner')"
        )
        deadline = time.monotonic() + 15
        quiet = 0
        while quiet < 3 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
            quiet = 0 if self.pending else quiet + 1
        page.wait_for_function("() => !document.querySelector('.spinner')")

    def check(self, route: str) -> None:
        self.settle()
        page = self.page
        where = f"{route} ({self.label}) at {page.url}"
        assert route.endswith("signin") or "/signin" not in page.url, f"signed out: {where}"
        assert not page.query_selector("[data-testid=not-found]"), f"not found: {where}"
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => await window.axe.run(document, {resultTypes: ['violations']})"
        )
        for v in result["violations"]:
            if v["impact"] in ("serious", "critical"):
                self.found.append(
                    {
                        "screen": route,
                        "at": self.label,
                        "rule": v["id"],
                        "impact": v["impact"],
                        "help": v["help"],
                        "nodes": [
                            {"target": n["target"], "html": n["html"][:160]} for n in v["nodes"][:4]
                        ],
                    }
                )


def role_context(
    browser: Any, demo: Demo, size: str, lang: str, role: str, world: dict[str, Any]
) -> Any:
    context = browser.new_context(
        base_url=demo.base,
        bypass_csp=True,  # axe-core is injected as a script
        permissions=["microphone"],
        locale=lang,
        **SIZES[size],
    )
    context.set_default_timeout(20_000)
    script = f"localStorage.setItem('vb.lang', {json.dumps(lang)});"
    if role == "kiosk":
        script += f"localStorage.setItem('vb.device', {json.dumps(demo.device_token)});"
    elif role in LOGINS:
        with demo.api() as api:
            answer = api.post(
                "/auth/login",
                json={"login": world["logins"][role], "password": "demo-password"},
            )
            assert answer.status_code == 200, answer.text
        # Only the first load: afterwards the app keeps the (rotated) tokens itself.
        script += (
            "if (!localStorage.getItem('vb.session')) "
            f"localStorage.setItem('vb.session', {json.dumps(answer.text)});"
        )
    if role == "staff":
        script += f"sessionStorage.setItem('vb.slip', {json.dumps(json.dumps(world['slip']))});"
    context.add_init_script(script)
    return context


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", list(SIZES))
def test_every_screen_has_no_serious_accessibility_violation(
    browser: Any, demo: Demo, world: dict[str, Any], size: str, lang: str
) -> None:
    found: list[dict[str, Any]] = []
    visited: list[str] = []
    for role, routes in VISITS.items():
        context = role_context(browser, demo, size, lang, role, world)
        try:
            sweep = Sweep(context.new_page(), f"{role}, {size}, {lang}")
            for number, route in enumerate(routes):
                params = {**world["params"], **(world["told"] if role == "parent" else {})}
                path = fill(route, params)
                if role == "kiosk" and route == "/kiosk/home":
                    for digit in world["pin"]:
                        sweep.page.click(f".pinpad button:text-is('{digit}')")
                    sweep.page.click("[data-testid=pin-ok]")
                    sweep.page.wait_for_url("**/kiosk/home")
                elif number == 0:
                    sweep.page.goto(path)
                else:
                    # Inside the app, as its links go: a reload would sign the child out.
                    sweep.page.evaluate(GO_TO, path)
                sweep.check(route)
                visited.append(route)
            found += sweep.found
        finally:
            context.close()
    assert set(visited) == app_routes()
    assert not found, f"{len(found)} serious or critical axe-core violations:\n" + "\n".join(
        json.dumps(v, ensure_ascii=False) for v in found
    )
