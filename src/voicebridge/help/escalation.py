"""Escalation to supervisors (T1) and the school's safeguarding contact (T2).

An Escalation row plus one HelpAlert per recipient is the record the supervisor
and safeguarding views read; each alert also goes out through notifications
(SMS, Web Push, e-mail) in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, select

from voicebridge import clock, metrics
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import (
    Escalation,
    EscalationLevel,
    HelpAlert,
    HelpRequest,
    PsychologistProfile,
    Verification,
)
from voicebridge.help.routing import ESCALATE, escalation_key, is_available
from voicebridge.jobs import service as jobs
from voicebridge.jobs.models import Job, JobState
from voicebridge.live import events as live
from voicebridge.notifications import events as notify
from voicebridge.schools import service as schools


def all_supervisors(session: Session) -> list[PsychologistProfile]:
    """Every verified supervisor, on duty or not."""
    return list(
        session.exec(
            select(PsychologistProfile).where(
                PsychologistProfile.verification == Verification.verified,
                PsychologistProfile.is_supervisor == True,  # noqa: E712
            )
        ).all()
    )


def supervisors(session: Session) -> list[PsychologistProfile]:
    """On-duty supervisors; when none is on duty, every verified supervisor."""
    everyone = all_supervisors(session)
    now = clock.now()
    present = [p for p in everyone if p.on_duty and is_available(p, now)]
    return present or everyone


def schedule(session: Session, settings: HelpSettings, request: HelpRequest) -> None:
    """Durable timers from the request's arrival; a timer already due runs at once.

    When urgency changes, a pending timer set for the old urgency moves to the
    new one's time (sooner for a raise, later or never for a lowering).
    """
    now = clock.now()
    for level, table in (
        (EscalationLevel.supervisors, settings.t1_seconds),
        (EscalationLevel.safeguarding, settings.t2_seconds),
    ):
        key = escalation_key(request.id, level)
        seconds = table.get(request.urgency.value)
        pending = session.exec(
            select(Job).where(Job.dedupe_key == key, Job.state == JobState.queued)
        ).first()
        if seconds is None:
            if pending is not None:
                jobs.cancel(session, key)
            continue
        due = max(request.created_at + timedelta(seconds=seconds), now)
        if pending is not None:
            if pending.run_at == due or (pending.run_at <= now and due == now):
                continue
            jobs.cancel(session, key)
        jobs.enqueue(
            session,
            ESCALATE,
            {"request_id": str(request.id), "level": level.value},
            run_at=due,
            dedupe_key=key,
        )


def alert(session: Session, request: HelpRequest, recipients: list[uuid.UUID], kind: str) -> None:
    seen: set[uuid.UUID] = set()
    for recipient in recipients:
        if recipient in seen:
            continue
        seen.add(recipient)
        row = HelpAlert(recipient_id=recipient, request_id=request.id, kind=kind)
        session.add(row)
        notify.help_alert(session, request, row)
        live.alerted(session, row)


def escalate(
    session: Session, request: HelpRequest, level: EscalationLevel, reason: str
) -> Escalation | None:
    """Records one escalation per level and alerts its recipients; a repeat does nothing."""
    existing = session.exec(
        select(Escalation).where(Escalation.request_id == request.id, Escalation.level == level)
    ).first()
    if existing is not None:
        return None
    escalation = Escalation(request_id=request.id, level=level, reason=reason)
    session.add(escalation)
    notify.help_escalated(session, escalation, request)
    live.escalated(session, escalation, request)
    if level is EscalationLevel.supervisors:
        recipients: list[uuid.UUID] = [p.user_id for p in supervisors(session)]
    else:
        contact = schools.safeguarding_contact(session, request.school_id)
        recipients = [contact.user_id] if contact is not None else []
        # Without a safeguarding contact the supervisors must act for the school.
        if not recipients:
            recipients = [p.user_id for p in supervisors(session)]
    alert(session, request, recipients, f"escalation_{level.value}")
    session.flush()
    labels = (level.value, request.urgency.value)
    metrics.on_commit(session, lambda: metrics.HELP_ESCALATIONS.labels(*labels).inc())
    return escalation


def escalated_to_school(session: Session, request_id: uuid.UUID) -> bool:
    return (
        session.exec(
            select(Escalation.id).where(
                Escalation.request_id == request_id,
                Escalation.level == EscalationLevel.safeguarding,
            )
        ).first()
        is not None
    )
