"""The console's supervision, continuity and admin screens, in Chromium, as people use them.

Same demo server and browser as the other journeys. Set-up goes through the API
(or, for a dead-letter job, straight into the demo's database: nothing in the
product makes a job fail on demand); everything the journey is about is clicked.
Every screen reached is checked with axe-core.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, create_engine

from tests.web.browser import Demo
from tests.web.conftest import PSYCHOLOGISTS, console_sign_in
from tests.web.conftest import axe_check as a11y
from tests.web.test_console import ask_for_help_on_kiosk
from voicebridge.jobs.models import Job, JobState

pytestmark = pytest.mark.usefixtures("psychologists_available")


def child_token(demo: Demo, child: str) -> str:
    child_id, pin = demo.children[child]
    with demo.api() as api:
        answer = api.post(
            "/auth/child-login",
            json={"child_id": child_id, "pin": pin},
            headers={"X-Device-Token": demo.device_token},
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def earlier_case(demo: Demo, child: str, psychologist: str, outcome: str) -> str:
    """Set-up: the child asked before, ``psychologist`` took it and closed it with notes."""
    request = demo.json(
        "POST",
        "/help/requests",
        child_token(demo, child),
        json={"category": "lonely", "not_safe": True, "text": "我睡不着"},
    )["request"]
    token = demo.token(psychologist)
    deadline = time.monotonic() + 20
    while not any(
        item["request"]["id"] == request["id"]
        for item in demo.json("GET", "/psychologists/me/queue", token)
    ):
        assert time.monotonic() < deadline, "the critical request was never offered"
        time.sleep(0.3)
    demo.json("POST", f"/help/requests/{request['id']}/accept", token)
    risk = {"thoughts": False, "plan": False, "means": False, "timeframe": "none"}
    demo.json(
        "POST",
        f"/help/requests/{request['id']}/close",
        token,
        json={"outcome_notes": outcome, "risk_assessment": risk, "safety_plan": "tell Ms Wang"},
    )
    return str(request["id"])


def test_psychologist_sees_earlier_cases_asks_a_referral_and_the_supervisor_discloses_and_reassigns(
    demo: Demo, desk: Any, desk2: Any, tablet: Any
) -> None:
    outcome = f"talked about the dog at home {uuid.uuid4().hex[:6]}"
    earlier_id = earlier_case(demo, "Xiaoming", PSYCHOLOGISTS[0], outcome)

    console = desk.new_page()
    console_sign_in(console, PSYCHOLOGISTS[0], "/console/help")
    kiosk = tablet.new_page()
    request_id, _ = ask_for_help_on_kiosk(kiosk, demo, "Xiaoming", "他们又打我了")
    offer = f"[data-testid=offer][data-request='{request_id}']"
    console.locator(f"{offer} [data-testid=accept]").click()
    console.wait_for_url(f"**/console/case/{request_id}")

    # Continuity: the earlier case, with what was noted then, and a way into it.
    earlier = console.wait_for_selector(f"[data-testid=earlier-case][data-request='{earlier_id}']")
    assert outcome in earlier.text_content()
    a11y(console, "case with earlier cases")

    # The psychologist asks for a referral; a supervisor must decide.
    console.fill("#referral-agency", "县公安局")
    console.fill("#referral-reason", "孩子说在学校被反复殴打")
    console.click("[data-testid=referral-send]")
    console.wait_for_selector("[data-testid=case-referral][data-state=pending]")

    supervisor = desk2.new_page()
    console_sign_in(supervisor, PSYCHOLOGISTS[1], "/console/help")
    supervisor.click("a[href='/console/supervisor']")
    referral = supervisor.locator(f"[data-testid=referral][data-request='{request_id}']")
    referral.wait_for()
    assert "Xiaoming" not in referral.text_content()  # no identity before the decision
    a11y(supervisor, "supervisor with a referral")
    referral.locator("textarea").fill("伤害正在发生，需要警方介入")
    referral.locator("[data-testid=referral-approve]").click()
    disclosed = supervisor.wait_for_selector("[data-testid=referral-decided][data-state=approved]")
    assert "Xiaoming" in disclosed.text_content()
    assert "2018" in disclosed.text_content()
    # The psychologist sees the decision live.
    console.wait_for_selector("[data-testid=case-referral][data-state=approved]")

    # The supervisor moves the case to themself; the table shows who holds it now.
    liu = demo.json("GET", "/me", demo.token(PSYCHOLOGISTS[1]))["id"]
    row = supervisor.locator(f"[data-testid=open-request][data-request='{request_id}']")
    row.locator("[data-testid=reassign-to]").select_option(liu)
    row.locator("[data-testid=reassign]").click()
    supervisor.wait_for_selector(
        f"[data-testid=open-request][data-request='{request_id}'][data-holder='{liu}']"
    )
    assert "Dr Liu" in row.locator("[data-testid=holder]").text_content()
    with demo.api(demo.token(PSYCHOLOGISTS[0])) as api:
        assert api.get(f"/help/requests/{request_id}").status_code == 404

    # The access log, for this case: the disclosure is there, by the supervisor.
    supervisor.select_option("#log-request", request_id)
    shared = supervisor.wait_for_selector(
        f"[data-testid=log-entry][data-request='{request_id}']"
        "[data-action=referral_identity_shared]"
    )
    assert "Dr Liu" in shared.text_content()
    a11y(supervisor, "supervisor after decisions")

    # The earlier case opens from the case view (the old psychologist still holds it).
    console.goto(f"/console/case/{earlier_id}")
    console.wait_for_selector("[data-testid=case][data-state=closed]")


def test_admin_opens_a_school_whose_first_staff_member_signs_in(
    demo: Demo, desk: Any, desk2: Any
) -> None:
    page = desk.new_page()
    console_sign_in(page, "admin@demo.voicebridge", "/console/admin")
    page.click("a[href='/console/admin/schools']")
    page.wait_for_selector("[data-testid=school]")
    a11y(page, "admin schools")
    name = f"山坡小学 {uuid.uuid4().hex[:4]}"
    page.fill("#school-name", name)
    page.fill("#school-region", "四川省凉山州")
    page.click("[data-testid=school-create]")
    school = page.locator("[data-testid=school]", has_text=name)
    school.locator("[data-testid=no-staff]").wait_for()  # opened at once, nobody in it yet

    login = f"head-{uuid.uuid4().hex[:6]}@school.example"
    school.locator("[data-testid=staff-login]").fill(login)
    school.locator("[data-testid=staff-name]").fill("李校长")
    school.locator("[data-testid=staff-password]").fill("first-password-1")
    school.locator("[data-testid=staff-add]").click()
    member = school.locator("[data-testid=staff-member][data-state=active]")
    member.wait_for()
    assert login in member.text_content()
    a11y(page, "admin school with staff")

    head = desk2.new_page()
    head.goto("/console/signin")
    head.fill("#login", login)
    head.fill("#password", "first-password-1")
    head.click("button[type=submit]")
    head.wait_for_url("**/console/school**")
    head.wait_for_selector(f"text={name}")


def test_admin_verifies_a_psychologist_and_suspends_a_moderator(demo: Demo, desk: Any) -> None:
    page = desk.new_page()
    console_sign_in(page, "admin@demo.voicebridge", "/console/admin")
    page.click("a[href='/console/admin/people']")
    page.wait_for_selector("[data-testid=psychologist]")

    # Two new accounts, made on this page.
    suffix = uuid.uuid4().hex[:6]
    accounts = {
        "psychologist": f"dr.new-{suffix}@example.org",
        "moderator": f"mod-{suffix}@example.org",
    }
    for role, login in accounts.items():
        page.select_option("#account-role", role)
        page.fill("#account-login", login)
        page.fill("#account-name", f"New {role} {suffix}")
        page.fill("#account-password", "a-long-password")
        page.click("[data-testid=account-create]")
        page.wait_for_selector(f"text=New {role} {suffix}")
    # Set-up: the new volunteer applies (their own profile page does this).
    volunteer = demo.token(accounts["psychologist"], "a-long-password")
    demo.json(
        "PUT",
        "/psychologists/me/application",
        volunteer,
        json={
            "credentials": "国家二级心理咨询师，执业八年",
            "languages": ["cmn"],
            "specialties": ["lonely"],
            "capacity": 2,
            "timezone": "Asia/Shanghai",
            "availability": [],
        },
    )
    page.reload()
    row = page.locator("[data-testid=psychologist]", has_text=f"New psychologist {suffix}")
    assert row.get_attribute("data-verification") == "pending"
    a11y(page, "admin people")
    row.locator("[data-testid=verify]").click()
    page.locator(
        "[data-testid=psychologist][data-verification=verified]",
        has_text=f"New psychologist {suffix}",
    ).wait_for()

    moderator = page.locator("[data-testid=moderator]", has_text=f"New moderator {suffix}")
    moderator.locator("[data-testid=suspend]").click()
    page.locator(
        "[data-testid=moderator][data-disabled=yes]", has_text=f"New moderator {suffix}"
    ).wait_for()
    with demo.api() as api:
        refused = api.post(
            "/auth/login", json={"login": accounts["moderator"], "password": "a-long-password"}
        )
        assert refused.status_code >= 400
    a11y(page, "admin people after suspending")
    moderator.locator("[data-testid=reinstate]").click()
    page.locator(
        "[data-testid=moderator][data-disabled=no]", has_text=f"New moderator {suffix}"
    ).wait_for()
    assert demo.token(accounts["moderator"], "a-long-password")


def demo_database(demo: Demo) -> Any:
    assert demo.out is not None
    return create_engine(f"sqlite:///{Path(demo.out).parent / 'data' / 'voicebridge.db'}")


def dead_job(demo: Demo) -> str:
    """Set-up: a follow-up reminder that failed for good (its database was locked, say)."""
    engine = demo_database(demo)
    job = Job(
        kind="help.follow_up",
        payload={"request_id": str(uuid.uuid4())},
        state=JobState.dead,
        attempts=8,
        last_error="OperationalError: database is locked",
        finished_at=datetime.now(UTC),
    )
    with Session(engine) as session:
        session.add(job)
        session.commit()
        job_id = str(job.id)
    engine.dispose()
    return job_id


def test_admin_reads_a_dead_jobs_error_and_retries_it(demo: Demo, desk: Any) -> None:
    job_id = dead_job(demo)
    page = desk.new_page()
    console_sign_in(page, "admin@demo.voicebridge", "/console/admin")
    page.click("a[href='/console/admin/jobs']")
    job = page.locator(f"[data-testid=dead-job][data-job='{job_id}']")
    job.wait_for()
    job.locator("[data-testid=job-error-toggle]").click()
    assert "database is locked" in job.locator("[data-testid=job-error]").inner_text()
    a11y(page, "dead jobs")
    job.locator("[data-testid=job-retry]").click()
    page.wait_for_selector(f"[data-testid=job-requeued][data-job='{job_id}']")
    assert job.count() == 0
    # The demo's in-process worker runs it again; this time it succeeds.
    engine = demo_database(demo)
    deadline = time.monotonic() + 60
    while True:
        with Session(engine) as session:
            row = session.get(Job, uuid.UUID(job_id))
            state, error = (row.state, row.last_error) if row else (None, None)
        if state is JobState.done:
            break
        assert state is not JobState.dead, error
        assert time.monotonic() < deadline, f"the retried job never ran ({state})"
        time.sleep(0.5)
    engine.dispose()
    page.click("[data-testid=jobs-refresh]")
    page.wait_for_selector("[data-testid=dead-jobs], [data-testid=jobs-empty]")
    assert job.count() == 0
