"""What psychologists, supervisors, school staff and admins do in the console, in Chromium.

Same server and browser as the parent and kiosk journeys (``serve --demo``:
SQLite, so live events go through the in-process broker). Elements are found
by data-testid and form ids, never by wording; every screen reached is checked
with axe-core.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.web.browser import Demo, new_phone
from tests.web.conftest import axe_check as a11y
from tests.web.conftest import console_sign_in, shot_dir
from tests.web.test_journeys import kiosk_sign_in

pytestmark = pytest.mark.usefixtures("psychologists_available")


def wait_live(page: Any) -> None:
    page.wait_for_selector("[data-testid=live-status][data-status=open]")


def ask_for_help_on_kiosk(kiosk: Any, demo: Demo, child: str, text: str) -> tuple[str, float]:
    """The child says they are not safe; returns the request id and when the API answered."""
    kiosk_sign_in(kiosk, demo, child)
    kiosk.click("[data-testid=help]")
    kiosk.wait_for_selector("[data-testid=category-other]")
    kiosk.click("[data-testid=category-other]")
    kiosk.click("[data-testid=not-safe]")
    kiosk.fill("#help-text", text)
    with kiosk.expect_response(
        lambda r: r.url.endswith("/api/v1/help/requests") and r.request.method == "POST"
    ) as answer:
        kiosk.click("[data-testid=help-send]")
    answered = time.monotonic()
    assert answer.value.status == 201, answer.value.text()
    return str(answer.value.json()["request"]["id"]), answered


def test_psychologist_gets_a_critical_offer_within_a_second_and_answers_by_voice(
    demo: Demo, desk: Any, tablet: Any
) -> None:
    console = desk.new_page()
    console_sign_in(console, "dr.chen@demo.voicebridge", "/console/help")
    console.wait_for_selector("[data-testid=duty]:checked")
    wait_live(console)
    a11y(console, "psychologist queue")

    kiosk = tablet.new_page()
    request_id, answered = ask_for_help_on_kiosk(kiosk, demo, "Jun", "我不安全 I am not safe")
    offer = f"[data-testid=offer][data-urgency=critical][data-request='{request_id}']"
    console.wait_for_selector(offer, timeout=5000)
    appeared = time.monotonic()
    assert appeared - answered < 1.0, f"the offer appeared {appeared - answered:.3f} s after"
    # The alarm played (Web Audio) for the critical offer.
    console.wait_for_function(
        "() => Number(document.querySelector('[data-testid=queue]').dataset.alarms) >= 1"
    )
    if shot_dir().is_dir():
        console.screenshot(path=str(shot_dir() / "console-queue.png"))
    # Its details follow from the API (the stream carries ids only).
    console.wait_for_selector(f"{offer} [data-testid=decline]")
    console.locator(f"{offer} [data-testid=accept]").click()
    console.wait_for_url(f"**/console/case/{request_id}")
    console.wait_for_selector("[data-testid=case][data-state=assigned]")
    assert "not safe" in console.text_content("[data-testid=request-text]")
    a11y(console, "case")

    # A reply by voice: recorded with the fake microphone, uploaded, processed.
    console.click("[data-testid=record-long]")
    console.wait_for_selector("[data-testid=recorder][data-state=recording]")
    console.wait_for_timeout(2500)
    console.click("[data-testid=stop-send]")
    voice = "[data-testid=case-message][data-state=visible] [data-testid=load-audio]"
    console.wait_for_selector(voice, timeout=60_000)
    if shot_dir().is_dir():
        console.screenshot(path=str(shot_dir() / "console-case.png"), full_page=True)

    # The child hears it on the kiosk, without a reload.
    heard = "[data-testid=help-reply] [data-testid=load-audio]"
    reply = kiosk.wait_for_selector(heard, timeout=20_000)
    reply.click()
    kiosk.wait_for_function(
        "() => [...document.querySelectorAll('audio')].some(a => a.currentTime > 0.5)"
    )


def test_supervisor_rejects_a_reply_with_a_phone_number_and_the_child_never_sees_it(
    demo: Demo, desk: Any, desk2: Any, tablet: Any
) -> None:
    kiosk = tablet.new_page()
    request_id, _ = ask_for_help_on_kiosk(kiosk, demo, "Fang", "我害怕")
    console = desk.new_page()
    console_sign_in(console, "dr.chen@demo.voicebridge", "/console/help")
    console.wait_for_selector(f"[data-testid=offer][data-request='{request_id}']")
    console.click(f"[data-testid=offer][data-request='{request_id}'] [data-testid=accept]")
    console.wait_for_url(f"**/console/case/{request_id}")
    console.fill("#reply", "有事打我电话 13912345678")
    console.click("[data-testid=send-reply]")
    console.wait_for_selector("[data-testid=case-message][data-state=held_for_review]")

    supervisor = desk2.new_page()
    console_sign_in(supervisor, "dr.liu@demo.voicebridge", "/console/help")
    supervisor.goto("/console/supervisor")
    held = supervisor.wait_for_selector("[data-testid=held-message]")
    assert "13912345678" in held.text_content()
    a11y(supervisor, "supervisor")
    if shot_dir().is_dir():
        supervisor.screenshot(path=str(shot_dir() / "console-supervisor.png"), full_page=True)
    held.query_selector("[data-testid=reject]").click()
    supervisor.wait_for_selector("[data-testid=held-empty]")
    # The psychologist sees it was not sent; the child never sees it.
    console.wait_for_selector("[data-testid=case-message][data-state=rejected]")
    kiosk.wait_for_selector("[data-testid=help-state]")
    kiosk.wait_for_timeout(1000)
    assert "13912345678" not in kiosk.content()


def test_staff_import_a_roster_fix_three_rows_and_print_a_slip(
    demo: Demo, desk: Any, phone: Any
) -> None:
    page = desk.new_page()
    console_sign_in(page, "teacher@demo.voicebridge", "/console/school")
    page.wait_for_selector("#roster-text")
    a11y(page, "school")
    rows = ["given_name,family_name,class,birth_year,pin"]
    rows += [f"Kid{i},Zhao,Grade 5,2016,{2000 + i}" for i in range(40)]
    bad = list(rows)
    bad[3] = "Kid2,Zhao,Grade 5,1890,2002"
    bad[10] = ",Zhao,Grade 5,2016,2009"
    bad[20] = "Kid19,Zhao,Grade 5,2016,12"
    page.fill("#roster-text", "\n".join(bad))
    page.click("[data-testid=roster-preview]")
    summary = page.wait_for_selector("[data-testid=roster-summary]")
    assert summary.get_attribute("data-invalid") == "3"
    errors = page.query_selector_all("[data-testid=roster-error]")
    lines = [e.get_attribute("data-line") for e in errors]
    assert lines == ["4", "11", "21"]
    assert page.is_disabled("[data-testid=roster-enrol]")
    a11y(page, "roster preview")
    page.fill("#roster-text", "\n".join(rows))
    page.click("[data-testid=roster-preview]")
    page.wait_for_selector("[data-testid=roster-summary][data-invalid='0']")
    page.click("[data-testid=roster-enrol]")
    # Forty PINs hashed with Argon2id at the demo's production cost take a while.
    page.wait_for_selector("[data-testid=roster-done]", timeout=180_000)
    if shot_dir().is_dir():
        page.screenshot(path=str(shot_dir() / "console-school.png"), full_page=True)

    page.locator("[data-testid=invite]").first.click()
    page.wait_for_url("**/console/slip")
    code = page.text_content("[data-testid=slip-code]")
    assert code
    assert page.query_selector("[data-testid=slip] [data-testid=qr]")
    a11y(page, "invitation slip")
    page.emulate_media(media="print")
    assert not page.is_visible("[data-testid=print]")  # only the slip is printed
    pdf = page.pdf(format="A5")
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")

    # A guardian, on their phone, redeems the code as printed on the slip.
    guardian = phone.new_page()
    guardian_redeems(guardian, demo, code.strip())
    child_id = guardian.url.split("/parent/child/")[1].split("?")[0]
    [child] = [c for c in enrolled(demo) if c["id"] == child_id]
    assert child["given_name"] in page.text_content("[data-testid=slip]")


def guardian_redeems(page: Any, demo: Demo, code: str) -> None:
    """Registers with a verified phone (the SMS code from the server's log), types the code."""
    page.goto("/parent/register")
    number = new_phone()
    page.fill("#phone", number)
    page.click("[data-testid=send-code]")
    page.fill("#sms-code", demo.sms_code(number))
    page.fill("#name", "Slip Dad")
    page.fill("#new-password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/parent/join")
    page.fill("#code", code)
    page.check("input[type=checkbox]")
    page.click("button[type=submit]")
    page.wait_for_url("**/parent/child/**")
    page.wait_for_selector("[data-testid=record-long]")
    a11y(page, "guardian joined from a slip")


def enrolled(demo: Demo) -> list[dict[str, Any]]:
    teacher = demo.token("teacher@demo.voicebridge")
    [school] = demo.json("GET", "/schools", teacher)
    page = demo.json("GET", f"/schools/{school['id']}/children", teacher, params={"limit": 200})
    return list(page["items"])


def test_admin_sees_the_impact_dashboard(demo: Demo, desk: Any) -> None:
    page = desk.new_page()
    console_sign_in(page, "admin@demo.voicebridge", "/console/admin")
    page.wait_for_selector("[data-testid=impact-table] tbody tr")
    page.wait_for_selector("[data-testid=chart-contact] svg")
    a11y(page, "impact dashboard")
    if shot_dir().is_dir():
        page.screenshot(path=str(shot_dir() / "console-impact.png"), full_page=True)
