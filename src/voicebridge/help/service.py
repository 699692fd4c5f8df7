"""Help requests and their cases: creating, reading (logged), messaging, urgency, closing."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.auth import throttle
from voicebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from voicebridge.help import escalation, routing, triage
from voicebridge.help.config import CrisisResource, HelpSettings
from voicebridge.help.models import (
    URGENCY_RANK,
    CaseAccessLog,
    Category,
    EscalationLevel,
    HelpAlert,
    HelpMessage,
    HelpRequest,
    MessageState,
    PsychologistProfile,
    RequestState,
    Urgency,
    UrgencyChange,
)
from voicebridge.jobs import service as jobs
from voicebridge.privacy import audit
from voicebridge.schools.models import Child


def log_access(session: Session, request_id: uuid.UUID, user_id: uuid.UUID, action: str) -> None:
    session.add(CaseAccessLog(request_id=request_id, user_id=user_id, action=action))
    session.flush()


def log_reads(
    session: Session, requests: list[HelpRequest], user_id: uuid.UUID, action: str
) -> None:
    """One row per request a list or queue showed to the reader, in one flush."""
    now = clock.now()
    for request in requests:
        session.add(CaseAccessLog(request_id=request.id, user_id=user_id, action=action, at=now))
    session.flush()


def _higher(a: Urgency | None, b: Urgency) -> Urgency:
    return b if a is None or URGENCY_RANK[b] > URGENCY_RANK[a] else a


def record_urgency(
    session: Session,
    request: HelpRequest,
    urgency: Urgency,
    *,
    by: uuid.UUID | None,
    reason: str,
    initial: bool = False,
) -> None:
    """Sets the urgency and keeps the change: who (None = automation), when, why, from, to."""
    session.add(
        UrgencyChange(
            request_id=request.id,
            changed_by=by,
            from_urgency=None if initial else request.urgency,
            to_urgency=urgency,
            reason=reason[:2000],
            at=clock.now(),
        )
    )
    request.urgency = urgency
    request.peak_urgency = _higher(request.peak_urgency, urgency)
    if by is None:
        request.triage_urgency = _higher(request.triage_urgency, urgency)
    session.add(request)


def urgency_history(session: Session, request_id: uuid.UUID) -> list[UrgencyChange]:
    return list(
        session.exec(
            select(UrgencyChange)
            .where(UrgencyChange.request_id == request_id)
            .order_by(col(UrgencyChange.at), col(UrgencyChange.id))
        ).all()
    )


def highest_urgency(session: Session, request: HelpRequest) -> Urgency:
    """The highest urgency the request ever had, from the request and its history."""
    top = _higher(request.peak_urgency, request.urgency)
    for change in urgency_history(session, request.id):
        top = _higher(top, change.to_urgency)
    return top


def crisis_resources(settings: HelpSettings) -> list[CrisisResource]:
    return list(triage.load(settings).crisis_resources)


def create_request(
    session: Session,
    settings: HelpSettings,
    child: Child,
    *,
    category: Category,
    not_safe: bool,
    text: str | None,
    language: str,
    hourly_limit: int | None = None,
    voice: bool = False,
) -> tuple[HelpRequest, bool]:
    """Triage, offer and start the timers in one transaction; True when nobody is on duty.

    A request with a voice recording is routed at once too: a child in danger
    must not wait for the transcode; the recording joins the case when ready.
    """
    data = triage.load(settings)
    if language not in data.languages:
        raise InvalidInput(f"Unknown language or dialect {language!r}")
    urgency, flagged = triage.initial_urgency(data, category, not_safe, text)
    if hourly_limit is not None and not not_safe and urgency is not Urgency.critical:
        # A child who says they are not safe, or whose words the triage finds
        # critical, is never refused; only the rest is limited (and counted).
        throttle.hit(
            session,
            "help-child",
            str(child.id),
            hourly_limit,
            timedelta(hours=1),
            "Help requests (say you are not safe and you are always heard)",
        )
    request = HelpRequest(
        child_id=child.id,
        school_id=child.school_id,
        category=category,
        not_safe=not_safe,
        text=text,
        language=language,
        urgency=urgency,
        risk_flagged=flagged,
        voice=voice,
    )
    session.add(request)
    session.flush()
    if not_safe:
        why = "triage: the child said they are not safe"
    elif flagged:
        why = "triage: risk words in the request"
    else:
        why = f"triage: category {category.value}"
    record_urgency(session, request, urgency, by=None, reason=why, initial=True)
    session.flush()
    nobody = not routing.on_duty(session, request.created_at)
    _start(session, settings, request, nobody)
    return request, nobody


def _start(session: Session, settings: HelpSettings, request: HelpRequest, nobody: bool) -> None:
    offers = routing.route(session, settings, request)
    urgent = request.urgency in (Urgency.critical, Urgency.high)
    if request.urgency is Urgency.critical:
        # Every supervisor at once, on duty or not: a child in danger cannot wait for T1.
        escalation.alert(
            session,
            request,
            [p.user_id for p in escalation.all_supervisors(session)],
            "critical_request",
        )
    if urgent and (nobody or not offers):
        reason = "nobody on duty" if nobody else "nobody free to offer it to"
        escalation.escalate(session, request, EscalationLevel.supervisors, reason)
        escalation.escalate(session, request, EscalationLevel.safeguarding, reason)
    escalation.schedule(session, settings, request)
    session.flush()


def raise_urgency(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    urgency: Urgency,
    reason: str = "risk words in the conversation",
) -> None:
    """Automation's only move: up. Never lowers, so it can run on any text at any time."""
    if URGENCY_RANK[urgency] <= URGENCY_RANK[request.urgency]:
        return
    record_urgency(session, request, urgency, by=None, reason=reason)
    request.risk_flagged = True
    session.add(request)
    session.flush()
    if request.state is RequestState.waiting:
        _start(session, settings, request, not routing.on_duty(session, clock.now()))
    elif request.state is RequestState.assigned and urgency is Urgency.critical:
        escalation.escalate(session, request, EscalationLevel.supervisors, reason)


def apply_transcript(
    session: Session, settings: HelpSettings, request: HelpRequest, text: str
) -> Urgency | None:
    """A transcript of the child's recording goes through the same triage as typed words.

    It can only raise urgency (never lower what the category or a person set);
    returns the new urgency, or None when nothing changed.
    """
    request.transcript = text[:4000]
    session.add(request)
    found = triage.raised(request.urgency, triage.scan_risk(triage.load(settings), text))
    if found is not None:
        raise_urgency(session, settings, request, found, "triage: risk words in the recording")
    session.flush()
    return found


def set_urgency(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    urgency: Urgency,
    *,
    by: User,
    supervisor: bool,
    reason: str | None,
) -> HelpRequest:
    """The assigned psychologist or a supervisor may move urgency either way, with a record.

    Below what triage found (``triage_urgency``) only a supervisor may go, and only
    with a reason: a child's words flagged by automation are not quietly set aside.
    """
    if request.state is RequestState.closed:
        raise Conflict("The case is closed")
    if urgency is request.urgency:
        return request
    floor = request.triage_urgency or request.urgency
    lowering = URGENCY_RANK[urgency] < URGENCY_RANK[request.urgency]
    if URGENCY_RANK[urgency] < URGENCY_RANK[floor]:
        if not supervisor:
            raise Forbidden(f"Only a supervisor may set urgency below what triage found ({floor})")
        if not (reason and reason.strip()):
            raise InvalidInput("Say why: setting urgency below triage needs a reason")
    why = reason.strip() if reason and reason.strip() else ("lowered" if lowering else "raised")
    record_urgency(session, request, urgency, by=by.id, reason=why)
    session.flush()
    if request.state is RequestState.waiting:
        if lowering:
            routing.route(session, settings, request)
            escalation.schedule(session, settings, request)
        else:
            _start(session, settings, request, not routing.on_duty(session, clock.now()))
    elif request.state is RequestState.assigned and urgency is Urgency.critical:
        escalation.alert(
            session,
            request,
            [p.user_id for p in escalation.all_supervisors(session)],
            "critical_request",
        )
    return request


def requests_of_child(session: Session, child_id: uuid.UUID) -> list[HelpRequest]:
    return list(
        session.exec(
            select(HelpRequest)
            .where(HelpRequest.child_id == child_id)
            .order_by(col(HelpRequest.created_at).desc())
        ).all()
    )


def cases_of(session: Session, psychologist_id: uuid.UUID) -> list[HelpRequest]:
    return list(
        session.exec(
            select(HelpRequest)
            .where(
                HelpRequest.psychologist_id == psychologist_id,
                HelpRequest.state == RequestState.assigned,
            )
            .order_by(col(HelpRequest.assigned_at))
        ).all()
    )


def all_open(session: Session) -> list[HelpRequest]:
    rows = session.exec(
        select(HelpRequest)
        .where(col(HelpRequest.state).in_([RequestState.waiting, RequestState.assigned]))
        .order_by(col(HelpRequest.created_at))
    ).all()
    return sorted(rows, key=lambda r: -URGENCY_RANK[r.urgency])


def post_message(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    sender: User,
    *,
    text: str | None,
    audio_asset_id: uuid.UUID | None = None,
) -> HelpMessage:
    """A child's words are scanned for risk; a volunteer's for ways off the platform."""
    if request.state is RequestState.closed:
        raise Conflict("The case is closed")
    if not text and audio_asset_id is None:
        raise InvalidInput("Say something: text or a recording")
    from_child = sender.id == request.child_id
    message = HelpMessage(
        request_id=request.id,
        sender_id=sender.id,
        from_child=from_child,
        text=text,
        audio_asset_id=audio_asset_id,
        state=MessageState.processing if audio_asset_id else MessageState.visible,
    )
    if from_child:
        found = triage.raised(request.urgency, triage.scan_risk(triage.load(settings), text))
        if found is not None:
            raise_urgency(session, settings, request, found)
        _tell_if_psychologist_away(session, request)
    else:
        reasons = triage.contact_details(text)
        if reasons:
            message.state = MessageState.held_for_review
            message.held_reasons = reasons
        elif request.first_response_at is None and audio_asset_id is None:
            request.first_response_at = message.created_at
            session.add(request)
    session.add(message)
    session.flush()
    return message


def messages_for(
    session: Session, request: HelpRequest, viewer: User, *, child_view: bool
) -> list[HelpMessage]:
    """The child sees only what reached them; the case's adults see held messages too."""
    log_access(session, request.id, viewer.id, "read_messages")
    stmt = select(HelpMessage).where(HelpMessage.request_id == request.id)
    if child_view:
        stmt = stmt.where(HelpMessage.state == MessageState.visible)
    return list(session.exec(stmt.order_by(col(HelpMessage.created_at))).all())


def held_messages(session: Session) -> list[HelpMessage]:
    return list(
        session.exec(
            select(HelpMessage)
            .where(HelpMessage.state == MessageState.held_for_review)
            .order_by(col(HelpMessage.created_at))
        ).all()
    )


def review_message(
    session: Session, message_id: uuid.UUID, reviewer: User, *, release: bool
) -> HelpMessage:
    message = session.get(HelpMessage, message_id)
    if message is None or message.state is not MessageState.held_for_review:
        raise NotFound("No such held message")
    message.state = MessageState.visible if release else MessageState.rejected
    message.reviewed_by = reviewer.id
    message.reviewed_at = clock.now()
    session.add(message)
    audit.record(
        session,
        reviewer,
        "approve" if release else "reject",
        "help_message",
        message.id,
        request=str(message.request_id),
    )
    if release:
        request = session.get(HelpRequest, message.request_id)
        if request is not None and request.first_response_at is None:
            request.first_response_at = message.reviewed_at
            session.add(request)
    session.flush()
    return message


OFF_DUTY_ALERT = "child_wrote_psychologist_off_duty"


def _tell_if_psychologist_away(session: Session, request: HelpRequest) -> None:
    """The child wrote on a case whose psychologist is off duty: supervisors hear of it.

    A supervisor who still has an unread alert of this kind for the case is not
    told again, so a child writing ten lines does not ring ten times.
    """
    if request.state is not RequestState.assigned or request.psychologist_id is None:
        return
    profile = session.get(PsychologistProfile, request.psychologist_id)
    if profile is not None and routing.is_present(profile, clock.now()):
        return
    unread = set(
        session.exec(
            select(HelpAlert.recipient_id).where(
                HelpAlert.request_id == request.id,
                HelpAlert.kind == OFF_DUTY_ALERT,
                col(HelpAlert.read_at).is_(None),
            )
        ).all()
    )
    recipients = [p.user_id for p in escalation.supervisors(session) if p.user_id not in unread]
    escalation.alert(session, request, recipients, OFF_DUTY_ALERT)


RISK_KEYS = ("thoughts", "plan", "means", "timeframe")


def close_case(
    session: Session,
    request: HelpRequest,
    *,
    outcome_notes: str,
    risk_assessment: dict[str, Any] | None,
    safety_plan: str | None,
    follow_up_on: date | None,
) -> HelpRequest:
    """High and critical cases need a risk assessment and a safety plan or escalation record."""
    if request.state is not RequestState.assigned:
        raise Conflict("Only an assigned case can be closed")
    # The rule follows the highest urgency ever: lowering first cannot bypass it.
    if highest_urgency(session, request) in (Urgency.critical, Urgency.high):
        missing = [k for k in RISK_KEYS if not risk_assessment or k not in risk_assessment]
        if missing:
            raise InvalidInput(
                "A high or critical case needs a risk assessment before closing",
                missing=missing,
            )
        escalated = escalation.escalated_to_school(session, request.id)
        if not (safety_plan and safety_plan.strip()) and not escalated:
            raise InvalidInput("A high or critical case needs a safety plan or an escalation")
    if follow_up_on is not None and follow_up_on <= clock.now().date():
        raise InvalidInput("The follow-up date must be in the future")
    request.state = RequestState.closed
    request.closed_at = clock.now()
    request.outcome_notes = outcome_notes
    request.risk_assessment = risk_assessment
    request.safety_plan = safety_plan
    request.follow_up_on = follow_up_on
    session.add(request)
    session.flush()
    if request.psychologist_id is not None:
        routing.release_capacity(session, request.psychologist_id)
    jobs.enqueue(session, routing.REROUTE, {}, dedupe_key="help:reroute")
    if follow_up_on is not None and request.psychologist_id is not None:
        escalation.alert(session, request, [request.psychologist_id], "follow_up_scheduled")
        jobs.enqueue(
            session,
            "help.follow_up",
            {"request_id": str(request.id)},
            run_at=clock.now().replace(
                year=follow_up_on.year, month=follow_up_on.month, day=follow_up_on.day
            ),
            dedupe_key=f"help:follow_up:{request.id}",
        )
    session.flush()
    return request


def enrolled_child(session: Session, child_id: uuid.UUID) -> Child:
    child = session.get(Child, child_id)
    if child is None or child.left_at is not None:
        raise NotFound("No such child")
    return child
