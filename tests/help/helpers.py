"""Making psychologists and help requests the way the services would."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.config import Settings
from voicebridge.help import profiles, routing, service
from voicebridge.help.models import Category, HelpRequest, PsychologistProfile
from voicebridge.schools.models import Child


def psychologist(
    factory: Factory,
    *,
    name: str = "Dr Wang",
    languages: list[str] | None = None,
    capacity: int = 3,
    supervisor: bool = False,
    on_duty: bool = True,
    availability: list[dict[str, Any]] | None = None,
    timezone: str = "Asia/Shanghai",
    specialties: list[str] | None = None,
    user: User | None = None,
) -> tuple[User, PsychologistProfile]:
    session, settings = factory.session, factory.settings
    user = user or factory.user(Role.psychologist, name)
    profile = profiles.apply(
        session,
        settings.help,
        user,
        credentials="Licensed child psychologist, 10 years",
        languages=languages or ["cmn"],
        specialties=specialties or [],
        capacity=capacity,
        timezone=timezone,
        availability=availability or [],
    )
    moderator = factory.user(Role.moderator, "Mod")
    profiles.decide(session, moderator, profile, verified=True, is_supervisor=supervisor)
    if on_duty:
        profiles.set_duty(session, profile, True)
    return user, profile


def ask(
    session: Session,
    settings: Settings,
    child: Child,
    *,
    text: str | None = "I miss my mum",
    category: Category = Category.lonely,
    not_safe: bool = False,
    language: str = "cmn",
) -> HelpRequest:
    request, _ = service.create_request(
        session,
        settings.help,
        child,
        category=category,
        not_safe=not_safe,
        text=text,
        language=language,
    )
    return request


def assigned_case(
    factory: Factory, child: Child, psych: User | None = None, **kwargs: Any
) -> tuple[HelpRequest, User]:
    """A request accepted by ``psych`` (made and put on duty if not given)."""
    if psych is None:
        psych, _ = psychologist(factory, name="Dr Assigned")
    elif factory.session.get(PsychologistProfile, psych.id) is None:
        psychologist(factory, user=psych)
    request = ask(factory.session, factory.settings, child, **kwargs)
    offer_to(factory, request, psych)
    routing.accept(factory.session, factory.settings.help, request, psych)
    return request, psych


def offer_to(factory: Factory, request: HelpRequest, psych: User) -> None:
    """Makes sure ``psych`` holds an offer even when someone else on duty ranked first."""
    if routing.open_offer_for(factory.session, request.id, psych.id) is None:
        profile = factory.session.get(PsychologistProfile, psych.id)
        assert profile is not None
        routing._make_offer(
            factory.session, factory.settings.help, request, profile, 0.0, request.created_at
        )
