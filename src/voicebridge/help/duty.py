"""Duty that is real: leaving withdraws offers at once; cases can be handed back or moved.

Going off duty (the switch, or an availability window closing, which the sweep
notices) withdraws every pending offer the volunteer holds and routes each
request to someone else in the same transaction; a request nobody is left to
take is escalated. Open cases stay with their psychologist for continuity; a
supervisor may reassign one, and a psychologist may hand one back.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.errors import Conflict, InvalidInput
from voicebridge.help import escalation, routing
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import (
    EscalationLevel,
    HelpRequest,
    Offer,
    OfferState,
    PsychologistProfile,
    RequestState,
    Urgency,
    Verification,
)
from voicebridge.jobs import service as jobs


def withdraw_offers_of(session: Session, settings: HelpSettings, user_id: uuid.UUID) -> int:
    """Withdraws the person's open offers and re-routes each request now; returns how many."""
    now = clock.now()
    routing.lock_present(session, {user_id})
    rows = session.exec(
        select(Offer, HelpRequest)
        .join(HelpRequest, col(HelpRequest.id) == col(Offer.request_id))
        .where(Offer.psychologist_id == user_id, Offer.state == OfferState.open)
    ).all()
    for offer, _ in rows:
        offer.state = OfferState.withdrawn
        offer.decided_at = now
        session.add(offer)
        jobs.cancel(session, routing.offer_key(offer.id))
    session.flush()
    present = [p for p in routing.on_duty(session, now) if p.user_id != user_id]
    waiting = [r for _, r in rows if r.state is RequestState.waiting]
    for request in sorted(waiting, key=routing.queue_order):
        routing.route(session, settings, request, present)
        if routing.open_offer_count(session, request.id) == 0:
            _nobody_left(session, request)
    session.flush()
    return len(rows)


def _nobody_left(session: Session, request: HelpRequest) -> None:
    reason = "its volunteer went off duty and nobody is left to offer it to"
    escalation.escalate(session, request, EscalationLevel.supervisors, reason)
    if request.urgency in (Urgency.critical, Urgency.high):
        escalation.escalate(session, request, EscalationLevel.safeguarding, reason)


def withdraw_absent(session: Session, settings: HelpSettings) -> int:
    """Offers held by someone no longer present (switched off, window closed, struck off)."""
    now = clock.now()
    holders = set(
        session.exec(select(Offer.psychologist_id).where(Offer.state == OfferState.open)).all()
    )
    absent: set[uuid.UUID] = set()
    for user_id in holders:
        profile = session.get(PsychologistProfile, user_id)
        if profile is None or not routing.is_present(profile, now):
            absent.add(user_id)
    if not absent:
        return 0
    # Every lock this transaction will need, in one ordered batch.
    routing.lock_present(session, absent)
    return sum(withdraw_offers_of(session, settings, user_id) for user_id in sorted(absent))


def _back_to_queue(
    session: Session, settings: HelpSettings, request: HelpRequest, holder: uuid.UUID, kind: str
) -> None:
    """The case waits again; its former psychologist is the last one it is offered to."""
    now = clock.now()
    request.state = RequestState.waiting
    request.psychologist_id = None
    request.assigned_at = None
    session.add(request)
    # A declined offer on record: routing tries everyone else first.
    session.add(
        Offer(
            request_id=request.id,
            psychologist_id=holder,
            offered_at=now,
            expires_at=now,
            state=OfferState.declined,
            decided_at=now,
        )
    )
    session.flush()
    routing.release_capacity(session, holder)
    escalation.alert(session, request, [p.user_id for p in escalation.supervisors(session)], kind)
    routing.route(session, settings, request)
    if routing.open_offer_count(session, request.id) == 0:
        escalation.escalate(
            session, request, EscalationLevel.supervisors, "handed back; nobody free to take it"
        )
    session.flush()


def hand_back(
    session: Session, settings: HelpSettings, request: HelpRequest, user: User
) -> HelpRequest:
    """The assigned psychologist gives the case back; supervisors hear of it."""
    if request.state is not RequestState.assigned or request.psychologist_id != user.id:
        raise Conflict("Only your own open case can be handed back")
    routing.lock_present(session, {user.id})
    _back_to_queue(session, settings, request, user.id, "case_handed_back")
    return request


def reassign(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    supervisor: User,
    to: uuid.UUID | None,
) -> HelpRequest:
    """A supervisor moves an open case to another verified psychologist with a free place,
    or (``to`` None) back to the queue."""
    if request.state is not RequestState.assigned or request.psychologist_id is None:
        raise Conflict("Only an assigned case can be reassigned")
    holder = request.psychologist_id
    if to is None:
        routing.lock_present(session, {holder})
        _back_to_queue(session, settings, request, holder, "case_reassigned")
        return request
    if to == holder:
        raise Conflict("The case is already with that psychologist")
    target = session.get(PsychologistProfile, to)
    if target is None or target.verification is not Verification.verified:
        raise InvalidInput("Reassign to a verified psychologist")
    routing.lock_present(session, {holder, to})
    took = session.exec(
        update(PsychologistProfile)
        .where(
            col(PsychologistProfile.user_id) == to,
            col(PsychologistProfile.open_cases) < col(PsychologistProfile.capacity),
        )
        .values(open_cases=PsychologistProfile.open_cases + 1)
        .execution_options(synchronize_session=False)
    )
    if took.rowcount != 1:
        raise Conflict("That psychologist has no free place")
    routing.release_capacity(session, holder)
    request.psychologist_id = to
    request.assigned_at = clock.now()
    session.add(request)
    session.flush()
    session.refresh(target)
    escalation.alert(session, request, [to], "case_reassigned_to_you")
    escalation.alert(session, request, [holder], "case_reassigned_away")
    session.flush()
    return request
