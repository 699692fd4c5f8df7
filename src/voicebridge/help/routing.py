"""Who gets offered a request, in what order, and how an offer becomes an assignment.

Capacity is kept by a counter on the psychologist's profile that only a
conditional UPDATE (``open_cases < capacity``) may raise; "first to accept
takes it" is a conditional UPDATE on the request's state. Both hold under
concurrent accepts on PostgreSQL (the row lock the UPDATE takes makes the
second one re-check its WHERE) and on SQLite (writers are serialised).

Pending offers count against a psychologist's free places too: open cases plus
open (non-critical) offers never exceed capacity. Making an offer first locks
the candidates' profile rows (``SELECT ... FOR UPDATE``, always in user-id
order so two routers cannot deadlock) and counts their offers afresh, so two
requests arriving at once cannot both take someone's last free place. Critical
offers go to everyone on duty, full or not, and do not count.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from voicebridge import clock, metrics
from voicebridge.accounts.models import User
from voicebridge.errors import Conflict, NotFound
from voicebridge.help import triage
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import (
    URGENCY_RANK,
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
from voicebridge.notifications import events as notify

OFFER_EXPIRE = "help.offer_expire"
ESCALATE = "help.escalate"
REROUTE = "help.reroute"


def offer_key(offer_id: uuid.UUID) -> str:
    return f"help:offer:{offer_id}"


def escalation_key(request_id: uuid.UUID, level: EscalationLevel) -> str:
    return f"help:esc:{request_id}:{level.value}"


def is_available(profile: PsychologistProfile, now: datetime) -> bool:
    """Inside one of the weekly windows, in the psychologist's own zone; no windows = any time."""
    if not profile.availability:
        return True
    local = now.astimezone(ZoneInfo(profile.timezone))
    t = local.time()
    for window in profile.availability:
        if int(window["weekday"]) != local.weekday():
            continue
        start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
        if start <= t < end or (end <= start and (t >= start or t < end)):
            return True
    return False


def is_present(profile: PsychologistProfile, now: datetime) -> bool:
    """On duty by their own switch and inside an availability window: a window closing
    counts as going off duty."""
    return (
        profile.verification is Verification.verified
        and profile.on_duty
        and is_available(profile, now)
    )


def on_duty(session: Session, now: datetime) -> list[PsychologistProfile]:
    profiles = session.exec(
        select(PsychologistProfile)
        .join(User, col(User.id) == col(PsychologistProfile.user_id))
        .where(
            PsychologistProfile.verification == Verification.verified,
            col(PsychologistProfile.on_duty).is_(True),
            col(User.disabled_at).is_(None),
        )
    ).all()
    return [p for p in profiles if is_available(p, now)]


def previous_psychologists(session: Session, child_id: uuid.UUID) -> set[uuid.UUID]:
    rows = session.exec(
        select(HelpRequest.psychologist_id).where(
            HelpRequest.child_id == child_id, col(HelpRequest.psychologist_id).is_not(None)
        )
    ).all()
    return {r for r in rows if r is not None}


def rank(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    candidates: list[PsychologistProfile],
    room: dict[uuid.UUID, int] | None = None,
) -> list[tuple[float, PsychologistProfile]]:
    """Best first: language, continuity with the child's earlier psychologist, room, specialty.

    ``room`` is each candidate's free places (capacity minus open cases minus
    pending offers); without it, open cases alone.
    """
    data = triage.load(settings)
    w = settings.weights
    earlier = previous_psychologists(session, request.child_id)
    scored: list[tuple[float, PsychologistProfile]] = []

    def free(p: PsychologistProfile) -> int:
        return room[p.user_id] if room is not None else p.capacity - p.open_cases

    for p in candidates:
        score = 0.0
        fit = triage.language_score(data, request.language, p.languages)
        score += {"exact": w.language_exact, "fallback": w.language_fallback}.get(fit or "", 0.0)
        if p.user_id in earlier:
            score += w.continuity
        if p.capacity > 0:
            score += w.free_capacity * max(0.0, free(p) / p.capacity)
        if request.category.value in p.specialties:
            score += w.specialty
        scored.append((score, p))
    # Among equal matches the one with more free places first, then a stable id order.
    scored.sort(key=lambda sp: (-round(sp[0], 6), -free(sp[1]), str(sp[1].user_id)))
    return scored


def lock_profiles(session: Session, user_ids: list[uuid.UUID] | set[uuid.UUID]) -> None:
    """Row locks on these profiles until the transaction ends, taken in id order.

    Everything that makes or withdraws non-critical offers takes them before
    counting free places; one batch per transaction, sorted, so no deadlock.
    No-op on SQLite, which serialises writers anyway.
    """
    if not user_ids:
        return
    session.exec(
        select(PsychologistProfile.user_id)
        .where(col(PsychologistProfile.user_id).in_(list(user_ids)))
        .order_by(col(PsychologistProfile.user_id))
        .with_for_update()
    ).all()


def lock_present(session: Session, also: set[uuid.UUID] | None = None) -> None:
    """Locks everyone who could be offered something now (and ``also``), in one batch."""
    ids = {p.user_id for p in on_duty(session, clock.now())} | (also or set())
    lock_profiles(session, ids)


def free_room(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Capacity minus open cases minus open non-critical offers, read fresh from the rows."""
    if not user_ids:
        return {}
    rows = session.exec(
        select(
            PsychologistProfile.user_id,
            PsychologistProfile.capacity,
            PsychologistProfile.open_cases,
        ).where(col(PsychologistProfile.user_id).in_(user_ids))
    ).all()
    pending = _pending_offers(session, user_ids)
    return {uid: cap - held - pending.get(uid, 0) for uid, cap, held in rows}


def open_offer_count(session: Session, request_id: uuid.UUID) -> int:
    return len(_open_offers(session, request_id))


def _open_offers(session: Session, request_id: uuid.UUID) -> list[Offer]:
    return list(
        session.exec(
            select(Offer).where(Offer.request_id == request_id, Offer.state == OfferState.open)
        ).all()
    )


def _make_offer(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    profile: PsychologistProfile,
    score: float,
    now: datetime,
) -> Offer:
    seconds = settings.offer_seconds.get(request.urgency.value, 600)
    offer = Offer(
        request_id=request.id,
        psychologist_id=profile.user_id,
        broadcast=request.urgency is Urgency.critical,
        score=score,
        offered_at=now,
        expires_at=now + timedelta(seconds=seconds),
    )
    session.add(offer)
    session.flush()
    jobs.enqueue(
        session,
        OFFER_EXPIRE,
        {"offer_id": str(offer.id)},
        run_at=offer.expires_at,
        dedupe_key=offer_key(offer.id),
    )
    notify.help_offer(session, offer, request)
    return offer


def _pending_offers(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = session.exec(
        select(Offer.psychologist_id, func.count())
        .join(HelpRequest, col(HelpRequest.id) == col(Offer.request_id))
        .where(
            Offer.state == OfferState.open,
            HelpRequest.urgency != Urgency.critical,
            col(Offer.psychologist_id).in_(user_ids),
        )
        .group_by(col(Offer.psychologist_id))
    ).all()
    return {pid: int(n) for pid, n in rows}


def route(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    present: list[PsychologistProfile] | None = None,
) -> list[Offer]:
    """Makes the offers a waiting request should have now; safe to call again at any time.

    Critical requests go to every on-duty psychologist at once, full or not (one
    who is full sees it and may close a case); others go to the best-ranked one
    with room, one at a time, never twice in a round to someone who let it lapse.
    """
    if request.state is not RequestState.waiting:
        return []
    offers = _route(session, settings, request, present)
    if offers and _first_offers(session, request, offers):
        waited = (offers[0].offered_at - request.created_at).total_seconds()
        urgency = request.urgency.value
        metrics.on_commit(
            session, lambda: metrics.HELP_FIRST_OFFER.labels(urgency).observe(max(0.0, waited))
        )
    return offers


def _first_offers(session: Session, request: HelpRequest, made: list[Offer]) -> bool:
    made_ids = [o.id for o in made]
    earlier = session.exec(
        select(Offer.id).where(Offer.request_id == request.id, col(Offer.id).not_in(made_ids))
    ).first()
    return earlier is None


def _route(
    session: Session,
    settings: HelpSettings,
    request: HelpRequest,
    present: list[PsychologistProfile] | None,
) -> list[Offer]:
    now = clock.now()
    open_offers = _open_offers(session, request.id)
    offered_now = {o.psychologist_id for o in open_offers}
    if present is None:
        present = on_duty(session, now)
    if request.urgency is Urgency.critical:
        fresh = [p for p in present if p.user_id not in offered_now]
        return [
            _make_offer(session, settings, request, p, s, now)
            for s, p in rank(session, settings, request, fresh)
        ]
    if open_offers:
        return []
    history = session.exec(select(Offer).where(Offer.request_id == request.id)).all()
    declined = {o.psychologist_id for o in history if o.state is OfferState.declined}
    lapsed = {o.psychologist_id for o in history} - declined
    eligible = [p for p in present if p.user_id not in declined]
    lock_profiles(session, {p.user_id for p in eligible})
    room = free_room(session, [p.user_id for p in eligible])
    with_room = [p for p in eligible if room.get(p.user_id, 0) > 0]
    # Fresh faces first; then those who let it lapse; a child is never left with nobody
    # because everyone on duty once declined.
    for excluded in (declined | lapsed, declined, set()):
        candidates = [p for p in with_room if p.user_id not in excluded]
        if candidates:
            break
    ranked = rank(session, settings, request, candidates, room)
    if not ranked:
        return []
    score, best = ranked[0]
    return [_make_offer(session, settings, request, best, score, now)]


def unheard(request: HelpRequest) -> bool:
    """A voice-only request no person has listened to yet."""
    voice_only = (request.voice or request.audio_asset_id is not None) and not (
        request.text and request.text.strip()
    )
    return voice_only and request.heard_at is None


def queue_order(request: HelpRequest) -> tuple[int, int, datetime]:
    """Most urgent first; at equal urgency a recording nobody has heard yet goes ahead of
    typed words (its words were never triaged), then the longest waiting."""
    return (-URGENCY_RANK[request.urgency], 0 if unheard(request) else 1, request.created_at)


def waiting_requests(session: Session) -> list[HelpRequest]:
    rows = session.exec(
        select(HelpRequest)
        .where(HelpRequest.state == RequestState.waiting)
        .order_by(col(HelpRequest.created_at))
    ).all()
    return sorted(rows, key=queue_order)


def route_waiting(session: Session, settings: HelpSettings) -> int:
    """Re-offers every waiting request, most urgent and longest waiting first."""
    made = 0
    waiting = waiting_requests(session)
    present = on_duty(session, clock.now()) if waiting else []
    lock_profiles(session, {p.user_id for p in present})
    for request in waiting:
        made += len(route(session, settings, request, present))
    return made


def open_offer_for(session: Session, request_id: uuid.UUID, user_id: uuid.UUID) -> Offer | None:
    return session.exec(
        select(Offer).where(
            Offer.request_id == request_id,
            Offer.psychologist_id == user_id,
            Offer.state == OfferState.open,
        )
    ).first()


def _critical_waiting_for(session: Session, settings: HelpSettings, user_id: uuid.UUID) -> bool:
    """Whether a critical request waits that this psychologist should take first.

    Critical requests waiting since before this psychologist came on duty are
    offered to them now, so nobody takes a calmer request ahead of a child in danger.
    """
    critical = session.exec(
        select(HelpRequest).where(
            HelpRequest.state == RequestState.waiting, HelpRequest.urgency == Urgency.critical
        )
    ).all()
    for request in critical:
        route(session, settings, request)
    return (
        session.exec(
            select(Offer.id)
            .join(HelpRequest, col(HelpRequest.id) == col(Offer.request_id))
            .where(
                Offer.psychologist_id == user_id,
                Offer.state == OfferState.open,
                HelpRequest.state == RequestState.waiting,
                HelpRequest.urgency == Urgency.critical,
            )
        ).first()
        is not None
    )


def accept(
    session: Session, settings: HelpSettings, request: HelpRequest, user: User
) -> HelpRequest:
    offer = open_offer_for(session, request.id, user.id)
    if offer is None or request.state is not RequestState.waiting:
        raise Conflict("This request is no longer offered to you")
    holder = session.get(PsychologistProfile, user.id)
    if holder is None or not is_present(holder, clock.now()):
        # The sweep withdraws the offer shortly; until then it cannot be taken.
        raise Conflict("You are off duty: go on duty, inside your hours, to take a request")
    if request.urgency is not Urgency.critical and _critical_waiting_for(
        session, settings, user.id
    ):
        raise Conflict("A child in danger is waiting for you: take the critical request first")
    took_room = session.exec(
        update(PsychologistProfile)
        .where(
            col(PsychologistProfile.user_id) == user.id,
            col(PsychologistProfile.open_cases) < col(PsychologistProfile.capacity),
            col(PsychologistProfile.verification) == Verification.verified,
        )
        .values(open_cases=PsychologistProfile.open_cases + 1)
        .execution_options(synchronize_session=False)
    )
    if took_room.rowcount != 1:
        raise Conflict("You already hold as many cases as your capacity allows")
    now = clock.now()
    took_case = session.exec(
        update(HelpRequest)
        .where(col(HelpRequest.id) == request.id, col(HelpRequest.state) == RequestState.waiting)
        .values(state=RequestState.assigned, psychologist_id=user.id, assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    if took_case.rowcount != 1:
        release_capacity(session, user.id)
        raise Conflict("Another psychologist took this request first")
    for other in _open_offers(session, request.id):
        other.state = OfferState.accepted if other.id == offer.id else OfferState.withdrawn
        other.decided_at = now
        session.add(other)
        jobs.cancel(session, offer_key(other.id))
    for level in EscalationLevel:
        jobs.cancel(session, escalation_key(request.id, level))
    session.flush()
    session.refresh(request)
    profile = session.get(PsychologistProfile, user.id)
    if profile is not None:
        session.refresh(profile)
    return request


def decline(session: Session, settings: HelpSettings, request: HelpRequest, user: User) -> None:
    offer = open_offer_for(session, request.id, user.id)
    if offer is None:
        raise NotFound("No open offer of this request")
    offer.state = OfferState.declined
    offer.decided_at = clock.now()
    session.add(offer)
    jobs.cancel(session, offer_key(offer.id))
    session.flush()
    route(session, settings, request)


def expire_offer(session: Session, settings: HelpSettings, offer_id: uuid.UUID) -> None:
    offer = session.get(Offer, offer_id)
    if offer is None or offer.state is not OfferState.open:
        return
    offer.state = OfferState.expired
    offer.decided_at = clock.now()
    session.add(offer)
    session.flush()
    request = session.get(HelpRequest, offer.request_id)
    if request is not None:
        route(session, settings, request)


def release_capacity(session: Session, user_id: uuid.UUID) -> None:
    session.exec(
        update(PsychologistProfile)
        .where(col(PsychologistProfile.user_id) == user_id, col(PsychologistProfile.open_cases) > 0)
        .values(open_cases=PsychologistProfile.open_cases - 1)
        .execution_options(synchronize_session=False)
    )
    profile = session.get(PsychologistProfile, user_id)
    if profile is not None:
        session.refresh(profile)


def queue_for(session: Session, user_id: uuid.UUID) -> list[tuple[Offer, HelpRequest]]:
    """What a psychologist sees: open offers, most urgent first, then longest waiting."""
    rows = session.exec(
        select(Offer, HelpRequest)
        .join(HelpRequest, col(HelpRequest.id) == col(Offer.request_id))
        .where(
            Offer.psychologist_id == user_id,
            Offer.state == OfferState.open,
            HelpRequest.state == RequestState.waiting,
        )
    ).all()
    return sorted(rows, key=lambda r: queue_order(r[1]))
