"""The outbox: what events write, digests, quiet hours, preferences, failed safety alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.factories import Factory
from tests.help.helpers import ask, psychologist
from tests.messages.helpers import ready_message
from tests.notifications.conftest import Receivers, contact, run_jobs
from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.config import Settings
from voicebridge.help.models import Category
from voicebridge.messages import progress
from voicebridge.messages import service as messages
from voicebridge.messages.schemas import ProgressReport, Segment
from voicebridge.notifications import outbox, periodic, quiet, service
from voicebridge.notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Notification,
    Preference,
)
from voicebridge.schools.models import School, StaffRole


def _notices(session: Session, user: User) -> list[Notification]:
    session.expire_all()  # jobs changed rows through their own sessions
    return list(
        session.exec(
            select(Notification)
            .where(Notification.recipient_id == user.id)
            .order_by(col(Notification.created_at))
        )
    )


def _deliveries(session: Session, user: User) -> list[Delivery]:
    return list(session.exec(select(Delivery).where(Delivery.recipient_id == user.id)))


# ---- quiet hours --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "at_utc", "until_utc"),
    [
        # Shanghai keeps no daylight saving: 23:30 CST -> 07:00 CST.
        ("Asia/Shanghai", datetime(2026, 3, 28, 15, 30), datetime(2026, 3, 28, 23, 0)),
        ("Asia/Shanghai", datetime(2026, 3, 28, 20, 0), datetime(2026, 3, 28, 23, 0)),
        # London springs forward on 29 March 2026: 23:30 GMT -> 07:00 BST is 6.5 hours.
        ("Europe/London", datetime(2026, 3, 28, 23, 30), datetime(2026, 3, 29, 6, 0)),
        # ...and falls back on 25 October: 23:30 BST -> 07:00 GMT is 8.5 hours.
        ("Europe/London", datetime(2026, 10, 24, 22, 30), datetime(2026, 10, 25, 7, 0)),
        ("Europe/London", datetime(2026, 3, 29, 12, 0), None),
    ],
)
def test_quiet_hours_end_at_local_seven_across_clock_changes(
    zone: str, at_utc: datetime, until_utc: datetime | None
) -> None:
    at = at_utc.replace(tzinfo=UTC)
    expected = until_utc.replace(tzinfo=UTC) if until_utc else None
    assert quiet.quiet_until(at, quiet.zone(zone, "UTC"), "22:00", "07:00") == expected


def test_an_end_inside_the_spring_gap_lands_after_it() -> None:
    # New York skips 02:00-03:00 on 8 March 2026; quiet until 02:30 ends at 03:30 EDT.
    at = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    until = quiet.quiet_until(at, quiet.zone("America/New_York", "UTC"), "23:00", "02:30")
    assert until == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "night_utc", "morning_utc"),
    [
        ("Asia/Shanghai", datetime(2026, 3, 28, 15, 30), datetime(2026, 3, 28, 23, 0)),
        ("Europe/London", datetime(2026, 3, 28, 23, 30), datetime(2026, 3, 29, 6, 0)),
    ],
)
def test_ordinary_notices_wait_for_the_schools_morning_and_safety_alerts_do_not(
    session: Session,
    factory: Factory,
    wired: Settings,
    receivers: Receivers,
    clock_at: clock.FakeClock,
    zone: str,
    night_utc: datetime,
    morning_utc: datetime,
) -> None:
    clock_at.current = night_utc.replace(tzinfo=UTC)
    school = factory.school()
    school.timezone = zone
    session.add(school)
    staff = factory.staff(school, StaffRole.admin, safeguarding=True, name="Head Teacher")
    contact(session, staff, receivers)
    outbox.record(session, staff.id, "report.weekly", {"total": 3, "days": 14}, school_id=school.id)
    outbox.record(session, staff.id, "help.escalation", {"request_id": "r1"}, school_id=school.id)
    run_jobs(session, wired)
    morning = morning_utc.replace(tzinfo=UTC)
    sent_now = {(d.channel, d.state) for d in _deliveries(session, staff) if d.safety}
    assert sent_now == {(Channel.sms, DeliveryState.sent), (Channel.email, DeliveryState.sent)}
    held = [d for d in _deliveries(session, staff) if not d.safety]
    assert {d.channel for d in held} == {Channel.email}
    assert all(d.due_at == morning and d.state is DeliveryState.pending for d in held)
    assert len(receivers.mail.inbox) == 1  # the safety alert only

    clock_at.current = morning - timedelta(minutes=1)
    run_jobs(session, wired)
    assert len(receivers.mail.inbox) == 1
    clock_at.current = morning
    run_jobs(session, wired)
    assert len(receivers.mail.inbox) == 2


# ---- events and the feed ------------------------------------------------------------------


def test_a_message_tells_the_child_and_a_reply_tells_the_parent_once(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers, local_store: Any
) -> None:
    school = factory.school()
    child = factory.child(school, name="Xiaohua")
    guardian, _ = factory.guardian_of(child)
    contact(session, guardian, receivers, language="en")
    child_user = session.get(User, child.id)
    assert child_user is not None
    thread = messages.open_thread(session, guardian, child, None)
    ready_message(session, local_store, guardian, thread)
    ready_message(session, local_store, child_user, thread)
    [to_child] = _notices(session, child_user)
    assert to_child.kind == "message.new"
    [to_parent] = _notices(session, guardian)
    assert to_parent.kind == "message.reply"
    run_jobs(session, wired)
    assert _deliveries(session, child_user) == []  # a child is told in the app only
    [push] = [a.payload for a in receivers.push.arrivals]
    assert push["body"] == "Xiaohua sent you a voice message."
    items, _ = service.feed(session, child_user, "zh", None, 10)
    assert [i.title for i in items] == ["新语音"]
    assert service.unread_count(session, child_user) == 1


def test_listens_become_one_digest(
    session: Session,
    factory: Factory,
    wired: Settings,
    receivers: Receivers,
    local_store: Any,
    clock_at: clock.FakeClock,
) -> None:
    school = factory.school()
    child = factory.child(school, name="Xiaohua")
    guardian, _ = factory.guardian_of(child)
    contact(session, guardian, receivers, language="en")
    child_user = session.get(User, child.id)
    assert child_user is not None
    thread = messages.open_thread(session, guardian, child, None)
    sent = [ready_message(session, local_store, guardian, thread) for _ in range(4)]
    run_jobs(session, wired)

    def listen(message: Any, play: str) -> None:
        asset = messages.asset_of(session, message)
        segment = Segment(start_ms=0, end_ms=1000, at=clock.now())
        report = ProgressReport(play_id=play, position_ms=1000, segments=[segment])
        progress.record_progress(session, child_user, message, asset, report)

    for i, message in enumerate(sent[:3]):
        listen(message, f"p{i}")
        listen(message, f"p{i}-again")  # a second play is not a second listen
    run_jobs(session, wired)
    [digest] = [n for n in _notices(session, guardian) if n.kind == "message.listened"]
    assert digest.count == 3
    assert service.feed(session, guardian, "en", None, 10)[0] == []  # not until it closes
    assert receivers.push.arrivals == []

    clock_at.advance(minutes=wired.notifications.digest_minutes)
    run_jobs(session, wired)
    [push] = [a.payload for a in receivers.push.arrivals]
    assert push["body"] == "Xiaohua listened to your 3 messages."
    items, _ = service.feed(session, guardian, "en", None, 10)
    assert [i.body for i in items] == ["Xiaohua listened to your 3 messages."]

    listen(sent[3], "p4")  # after the digest went out: the next digest
    digests = [n for n in _notices(session, guardian) if n.kind == "message.listened"]
    assert [d.count for d in digests] == [3, 1]


def test_parents_are_never_told_about_help_requests_and_alerts_carry_no_words(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers
) -> None:
    school = factory.school()
    staff = factory.staff(school, StaffRole.admin, safeguarding=True, name="Head")
    child = factory.child(school, name="Xiaohua")
    guardian, _ = factory.guardian_of(child)
    supervisor, _ = psychologist(factory, name="Supervisor", supervisor=True)
    on_duty, _ = psychologist(factory, name="On duty")
    for person in (guardian, staff, supervisor, on_duty):
        contact(session, person, receivers, channels={"family": ["in_app"]})
    words = "他们打我，我不想活了"
    ask(session, wired, child, text=words, category=Category.bullying, not_safe=True)
    assert outbox.record(session, guardian.id, "help.critical", {"request_id": "x"}) is None
    run_jobs(session, wired)
    assert [n for n in _notices(session, guardian) if n.kind.startswith("help")] == []
    guardian_pref = session.get(Preference, guardian.id)
    assert guardian_pref is not None
    assert guardian_pref.phone not in {
        a.payload["PhoneNumberSet"][0] for a in receivers.sms.arrivals
    }
    told = {n.recipient_id for n in session.exec(select(Notification)).all()}
    assert {supervisor.id, on_duty.id} <= told
    everything = receivers.everything()
    assert len(everything) >= 4
    for payload in everything:
        for secret in (words, "打我", "不想活", "bullying", "Li", "Xiaohua"):
            assert secret not in payload


# ---- preferences --------------------------------------------------------------------------


def test_preferences_choose_channels_but_not_for_safety(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers
) -> None:
    supervisor = factory.user(Role.psychologist, "Supervisor")
    contact(session, supervisor, receivers)
    service.update_preferences(session, supervisor, {"channels": {"help": ["in_app"]}})
    outbox.record(session, supervisor.id, "help.offer", {"request_id": "r"})
    outbox.record(session, supervisor.id, "help.critical", {"request_id": "r"})
    run_jobs(session, wired)
    kinds = {
        (n.kind, d.channel)
        for d in _deliveries(session, supervisor)
        for n in [session.get(Notification, d.notification_id)]
        if n is not None
    }
    assert kinds == {("help.critical", Channel.push), ("help.critical", Channel.sms)}


# ---- a safety alert that does not arrive ---------------------------------------------------


def test_a_dead_safety_alert_goes_to_the_next_person_and_the_admins(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers, clock_at: Any
) -> None:
    admin = factory.user(Role.admin, "Admin")
    first, _ = psychologist(factory, name="Supervisor One", supervisor=True)
    second, _ = psychologist(factory, name="Supervisor Two", supervisor=True)
    contact(session, first, receivers, devices=0, phone="+8613900006666")
    contact(session, second, receivers, devices=0, phone="+8613900007777")
    contact(session, admin, receivers, devices=0)
    receivers.sms.refuse.add("+8613900006666")
    outbox.record(session, first.id, "help.escalation", {"request_id": "r9"})
    run_jobs(session, wired)
    [dead] = [d for d in _deliveries(session, first) if d.channel is Channel.sms]
    assert dead.state is DeliveryState.dead
    [notice] = [n for n in _notices(session, second) if n.kind == "safety.undelivered"]
    assert notice.data["who"] == "Supervisor One"
    assert "+8613900007777" in {a.payload["PhoneNumberSet"][0] for a in receivers.sms.arrivals}
    [admin_notice] = [n for n in _notices(session, admin) if n.kind == "safety.undelivered"]
    assert admin_notice.channels == ["in_app", "email"]
    [row] = service.undelivered_safety(session)
    assert row[1] == "Supervisor One"


def test_nudges_and_weekly_reports_come_once_per_period(
    session: Session, factory: Factory, wired: Settings, clock_at: clock.FakeClock
) -> None:
    school: School = factory.school()
    staff = factory.staff(school, StaffRole.teacher)
    quiet_child = factory.child(school, name="Ming")
    guardian, _ = factory.guardian_of(quiet_child)
    opted_out, _ = factory.guardian_of(factory.child(school, name="Hua"))
    service.update_preferences(session, opted_out, {"nudges": False})
    clock_at.advance(days=8)
    settings = wired.notifications
    assert periodic.nudge_quiet_guardians(session, settings) == 1
    periodic.nudge_quiet_guardians(session, settings)
    [nudge] = [n for n in _notices(session, guardian) if n.kind == "nudge"]
    assert nudge.data["child_name"] == "Ming"
    assert [n for n in _notices(session, opted_out) if n.kind == "nudge"] == []

    clock_at.current = datetime(2026, 12, 14, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    periodic.weekly_reports(session, settings)
    periodic.weekly_reports(session, settings)
    [report] = [n for n in _notices(session, staff) if n.kind == "report.weekly"]
    assert report.data["total"] == 2
    assert "Ming" not in str(report.data)
