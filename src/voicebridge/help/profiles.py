"""Volunteer psychologists: applying, verification by a moderator, profile and duty."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.config import get_settings
from voicebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from voicebridge.help import duty, escalation, routing, triage
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import (
    Category,
    HelpRequest,
    Offer,
    OfferState,
    PsychologistProfile,
    RequestState,
    Verification,
)
from voicebridge.help.routing import REROUTE
from voicebridge.jobs import service as jobs
from voicebridge.live import events as live
from voicebridge.privacy import audit


def _check(
    settings: HelpSettings,
    languages: list[str] | None,
    specialties: list[str] | None,
    timezone: str | None,
    availability: list[dict[str, Any]] | None,
) -> None:
    known = triage.load(settings).languages
    for code in languages or []:
        if code not in known:
            raise InvalidInput(f"Unknown language or dialect {code!r}")
    for s in specialties or []:
        if s not in Category.__members__:
            raise InvalidInput(f"Unknown specialty {s!r}")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"Unknown time zone {timezone!r}") from exc
    for window in availability or []:
        try:
            day = int(window["weekday"])
            time.fromisoformat(str(window["start"]))
            time.fromisoformat(str(window["end"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("Availability windows need weekday, start and end") from exc
        if not 0 <= day <= 6:
            raise InvalidInput("weekday is 0 (Monday) to 6 (Sunday)")


def get_profile(session: Session, user: User) -> PsychologistProfile:
    profile = session.get(PsychologistProfile, user.id)
    if profile is None:
        raise NotFound("No application yet")
    return profile


def apply(
    session: Session,
    settings: HelpSettings,
    user: User,
    *,
    credentials: str,
    languages: list[str],
    specialties: list[str],
    capacity: int,
    timezone: str,
    availability: list[dict[str, Any]],
) -> PsychologistProfile:
    """New credentials always go back to a moderator, even for a verified volunteer."""
    if user.role is not Role.psychologist:
        raise Forbidden("Only psychologist accounts can apply")
    _check(settings, languages, specialties, timezone, availability)
    profile = session.get(PsychologistProfile, user.id) or PsychologistProfile(
        user_id=user.id, credentials=credentials
    )
    if profile.open_cases > 0:
        # Re-applying makes the volunteer unverified; a child must not lose their
        # psychologist mid-conversation because a certificate was re-uploaded.
        raise Conflict("Close or hand back your open cases before applying again")
    profile.credentials = credentials
    profile.languages = languages
    profile.specialties = specialties
    profile.capacity = capacity
    profile.timezone = timezone
    profile.availability = availability
    profile.verification = Verification.pending
    profile.on_duty = False
    session.add(profile)
    session.flush()
    live.moderation_changed(session, psychologist_id=user.id)
    return profile


def update(
    session: Session, settings: HelpSettings, profile: PsychologistProfile, **changes: Any
) -> PsychologistProfile:
    _check(
        settings,
        changes.get("languages"),
        changes.get("specialties"),
        changes.get("timezone"),
        changes.get("availability"),
    )
    if changes.get("capacity", profile.capacity) < profile.open_cases:
        raise InvalidInput("Close some cases before lowering your capacity below them")
    for key, value in changes.items():
        setattr(profile, key, value)
    session.add(profile)
    session.flush()
    jobs.enqueue(session, REROUTE, {}, dedupe_key="help:reroute")
    return profile


def set_duty(
    session: Session,
    profile: PsychologistProfile,
    on_duty: bool,
    settings: HelpSettings | None = None,
) -> PsychologistProfile:
    """On: waiting requests reach the newcomer. Off: their pending offers go to others now."""
    if on_duty and profile.verification is not Verification.verified:
        raise Conflict("A moderator has to verify you before you go on duty")
    if not on_duty:
        # Locks first, in the same order every router takes them.
        routing.lock_present(session, {profile.user_id})
    profile.on_duty = on_duty
    session.add(profile)
    session.flush()
    if on_duty:
        # Waiting requests (critical ones especially) reach the newcomer now.
        jobs.enqueue(session, REROUTE, {}, dedupe_key="help:reroute")
    else:
        duty.withdraw_offers_of(session, settings or get_settings().help, profile.user_id)
    return profile


def decide(
    session: Session,
    moderator: User,
    profile: PsychologistProfile,
    *,
    verified: bool,
    is_supervisor: bool,
) -> PsychologistProfile:
    profile.verification = Verification.verified if verified else Verification.rejected
    profile.verified_by = moderator.id
    profile.verified_at = clock.now()
    profile.is_supervisor = verified and is_supervisor
    if not verified:
        profile.on_duty = False
    session.add(profile)
    session.flush()
    audit.record(
        session,
        moderator,
        "approve" if verified else "reject",
        "psychologist",
        profile.user_id,
        supervisor=profile.is_supervisor,
    )
    if not verified:
        release_cases(session, profile, by=moderator.id)
    return profile


def release_cases(
    session: Session, profile: PsychologistProfile, by: uuid.UUID | None = None
) -> int:
    """A volunteer who is no longer verified hands back every open case and offer.

    The children's requests go back to the queue (rerouted by a job in this
    transaction) and the supervisors are told, so no child is left with nobody.
    """
    now = clock.now()
    open_offers = session.exec(
        select(Offer).where(
            Offer.psychologist_id == profile.user_id, Offer.state == OfferState.open
        )
    ).all()
    for offer in open_offers:
        offer.state = OfferState.declined
        offer.decided_at = now
        session.add(offer)
    cases = session.exec(
        select(HelpRequest).where(
            HelpRequest.psychologist_id == profile.user_id,
            HelpRequest.state == RequestState.assigned,
        )
    ).all()
    supervisors = [s.user_id for s in escalation.supervisors(session)]
    for request in cases:
        request.state = RequestState.waiting
        request.psychologist_id = None
        session.add(request)
        escalation.alert(session, request, supervisors, "psychologist-withdrawn")
        if by is not None:
            audit.record(
                session,
                by,
                "reassign",
                "help_request",
                request.id,
                school_id=request.school_id,
                released_by=str(profile.user_id),
            )
    profile.open_cases = 0
    session.add(profile)
    session.flush()
    if cases or open_offers:
        jobs.enqueue(session, REROUTE, {}, dedupe_key="help:reroute")
    return len(cases)


def list_profiles(
    session: Session, verification: Verification | None
) -> list[tuple[PsychologistProfile, User]]:
    stmt = select(PsychologistProfile, User).join(
        User, col(User.id) == col(PsychologistProfile.user_id)
    )
    if verification is not None:
        stmt = stmt.where(PsychologistProfile.verification == verification)
    return [(p, u) for p, u in session.exec(stmt.order_by(col(PsychologistProfile.created_at)))]


def application_of(session: Session, user_id: uuid.UUID) -> PsychologistProfile:
    profile = session.get(PsychologistProfile, user_id)
    if profile is None:
        raise NotFound("No such application")
    return profile
