"""Notification jobs: dispatch (plan deliveries), deliver, and the periodic nudges and reports.

Safety deliveries have their own job kind so that an operator can run a worker
for them alone (``voicebridge worker --kinds notifications.dispatch,notifications.deliver_safety``)
and a backlog of ordinary notices never delays an alert.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from voicebridge import clock
from voicebridge.jobs.registry import JobContext, PermanentJobError, Reschedule, job_handler
from voicebridge.notifications import delivery, outbox, periodic
from voicebridge.notifications.models import Notification


def _id(payload: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError(f"payload needs a valid {key}") from exc


@job_handler(outbox.DISPATCH)
def dispatch(ctx: JobContext, payload: dict[str, Any]) -> None:
    settings = ctx.settings.notifications
    with Session(ctx.engine, expire_on_commit=False) as session:
        notification = session.get(Notification, _id(payload, "notification_id"))
        if notification is None:
            return
        if notification.digest_key is not None:
            closes = notification.created_at + timedelta(minutes=settings.digest_minutes)
            if clock.now() < closes:
                raise Reschedule(closes)
            # Closing: later events open the next digest; this one appears in the feed now.
            notification.digest_key = None
            notification.visible_at = clock.now()
            session.add(notification)
            session.flush()
        outbox.plan(session, settings, notification)
        session.commit()


@job_handler(outbox.DELIVER)
def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    delivery.deliver(ctx.engine, ctx.settings, _id(payload, "delivery_id"))


@job_handler(outbox.DELIVER_SAFETY)
def deliver_safety(ctx: JobContext, payload: dict[str, Any]) -> None:
    delivery.deliver(ctx.engine, ctx.settings, _id(payload, "delivery_id"))


@job_handler("notifications.nudges", every=timedelta(hours=6))
def nudges(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine, expire_on_commit=False) as session:
        periodic.nudge_quiet_guardians(session, ctx.settings.notifications)
        session.commit()


@job_handler("notifications.weekly_report", every=timedelta(hours=1))
def weekly_report(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine, expire_on_commit=False) as session:
        periodic.weekly_reports(session, ctx.settings.notifications)
        session.commit()
