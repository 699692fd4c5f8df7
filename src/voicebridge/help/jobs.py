"""Help timers: offer expiry, escalation T1/T2, re-routing and follow-up check-ins.

Every handler re-reads the rows and does nothing when its reason went away
(the request was accepted, the offer decided), so running twice is harmless.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from voicebridge.help import duty, escalation, routing
from voicebridge.help.models import EscalationLevel, HelpRequest, RequestState
from voicebridge.jobs.registry import JobContext, PermanentJobError, job_handler


def _uuid(payload: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {payload!r}") from exc


@job_handler(routing.OFFER_EXPIRE)
def offer_expire(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine) as session:
        routing.expire_offer(session, ctx.settings.help, _uuid(payload, "offer_id"))
        session.commit()


@job_handler(routing.ESCALATE)
def escalate(ctx: JobContext, payload: dict[str, Any]) -> None:
    level = EscalationLevel(payload.get("level", "supervisors"))
    with Session(ctx.engine) as session:
        request = session.get(HelpRequest, _uuid(payload, "request_id"))
        if request is None or request.state is not RequestState.waiting:
            return
        reason = "not accepted in time"
        escalation.escalate(session, request, level, reason)
        session.commit()


@job_handler(routing.REROUTE)
def reroute(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine) as session:
        routing.route_waiting(session, ctx.settings.help)
        session.commit()


@job_handler("help.sweep", every=timedelta(minutes=2))
def sweep(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Windows that closed (offers withdrawn, as going off duty) and windows that opened."""
    with Session(ctx.engine) as session:
        duty.withdraw_absent(session, ctx.settings.help)
        session.commit()
    reroute(ctx, payload)


@job_handler("help.follow_up")
def follow_up(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine) as session:
        request = session.get(HelpRequest, _uuid(payload, "request_id"))
        if request is None or request.psychologist_id is None:
            return
        escalation.alert(session, request, [request.psychologist_id], "follow_up_due")
        session.commit()
