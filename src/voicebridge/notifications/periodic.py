"""Notices nobody's action causes: the gentle nudge and the weekly report to school staff.

Both are idempotent per period through their event keys, so the periodic jobs
may run as often as they like (and twice after a crash) and still tell each
person once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import exists, not_
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.families.models import Consent, GuardianLink
from voicebridge.messages import service as messages
from voicebridge.messages.models import Message, Thread
from voicebridge.notifications import outbox, quiet
from voicebridge.notifications.config import NotificationSettings
from voicebridge.notifications.models import Preference
from voicebridge.schools.models import Child, School, StaffMembership

BATCH = 500


def nudge_quiet_guardians(session: Session, settings: NotificationSettings) -> int:
    """One nudge per guardian, child and period of ``nudge_after_days`` without a message."""
    days = settings.nudge_after_days
    if days <= 0:
        return 0
    now = clock.now()
    cutoff = now - timedelta(days=days)
    period = int(now.timestamp() // timedelta(days=days).total_seconds())
    sent_recently = exists().where(
        col(Thread.child_id) == col(GuardianLink.child_id),
        col(Thread.guardian_id) == col(GuardianLink.guardian_id),
        col(Message.thread_id) == col(Thread.id),
        col(Message.sender_id) == col(GuardianLink.guardian_id),
        col(Message.created_at) >= cutoff,
    )
    opted_out = exists().where(
        col(Preference.user_id) == col(GuardianLink.guardian_id),
        col(Preference.nudges) == False,  # noqa: E712
    )
    rows = session.exec(
        select(GuardianLink.guardian_id, GuardianLink.child_id, Child.given_name)
        .join(Consent, col(Consent.link_id) == col(GuardianLink.id))
        .join(Child, col(Child.id) == col(GuardianLink.child_id))
        .where(
            col(GuardianLink.revoked_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
            col(Child.left_at).is_(None),
            col(GuardianLink.created_at) < cutoff,
            not_(sent_recently),
            not_(opted_out),
        )
        .limit(BATCH * 20)
    ).all()
    made = 0
    for guardian_id, child_id, given_name in rows:
        thread = session.exec(
            select(Thread.id).where(Thread.child_id == child_id, Thread.guardian_id == guardian_id)
        ).first()
        notification = outbox.record(
            session,
            guardian_id,
            "nudge",
            {
                "child_id": str(child_id),
                "child_name": given_name,
                "days": days,
                "thread_id": str(thread) if thread else "",
            },
            event_key=f"nudge:{guardian_id}:{child_id}:{period}",
        )
        made += notification is not None
    return made


def _report_due(school: School, settings: NotificationSettings, now: datetime) -> str | None:
    """The ISO week to report on, when it is report time at the school; else None."""
    local = now.astimezone(quiet.zone(school.timezone, settings.default_timezone))
    if local.weekday() != settings.report_weekday or local.hour < settings.report_hour:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_reports(session: Session, settings: NotificationSettings) -> int:
    """Each school's staff hear how many children, by class, have not heard from family."""
    now = clock.now()
    made = 0
    for school in session.exec(select(School)).all():
        week = _report_due(school, settings, now)
        if week is None:
            continue
        staff: list[uuid.UUID] = list(
            session.exec(
                select(StaffMembership.user_id).where(
                    StaffMembership.school_id == school.id,
                    col(StaffMembership.ended_at).is_(None),
                )
            )
        )
        if not staff:
            continue
        rows = messages.quiet_children(session, school, settings.report_quiet_days)
        by_class = Counter(r.class_name for r in rows)
        # Counts by class only: the names are on the report page, behind the access policy.
        data = {
            "school_id": str(school.id),
            "days": settings.report_quiet_days,
            "total": len(rows),
            "classes": sorted([name, count] for name, count in by_class.items()),
        }
        for user_id in staff:
            made += (
                outbox.record(
                    session,
                    user_id,
                    "report.weekly",
                    data,
                    school_id=school.id,
                    event_key=f"report:{school.id}:{user_id}:{week}",
                )
                is not None
            )
    return made
