"""Loaders for help routes: fetch, apply the confidentiality policy, 404 for outsiders."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from voicebridge.accounts.models import Role
from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentPrincipal
from voicebridge.auth.service import Principal
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, NotFound
from voicebridge.help.models import HelpRequest, PsychologistProfile


def viewable_request(
    request_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> HelpRequest:
    request = session.get(HelpRequest, request_id)
    if request is None or not policy.can_view_help_request(session, principal.user, request):
        raise NotFound("No such help request")
    return request


def readable_case(
    request: Annotated[HelpRequest, Depends(viewable_request)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> HelpRequest:
    if not policy.can_read_case(session, principal.user, request):
        raise NotFound("No such case")
    return request


def managed_case(
    request: Annotated[HelpRequest, Depends(readable_case)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> HelpRequest:
    if not policy.can_manage_case(session, principal.user, request):
        raise Forbidden("Only the assigned psychologist or a supervisor can do that")
    return request


def hearable_case(
    request: Annotated[HelpRequest, Depends(viewable_request)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> HelpRequest:
    """Who may play a case's recordings: the child (their own case's messages), the
    assigned psychologist, supervisors, and the school's safeguarding contact once the
    request was escalated to the school (T2). Anyone else: 404."""
    user = principal.user
    if not (
        policy.is_self(user, request.child_id)
        or policy.is_assigned_to(session, user, request)
        or policy.is_supervisor(session, user)
        or policy.is_safeguarding_contact_for(session, user, request)
    ):
        raise NotFound("No such case")
    return request


def psychologist(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.psychologist:
        raise Forbidden("Volunteer psychologists only")
    return principal


def own_profile(
    principal: Annotated[Principal, Depends(psychologist)], session: SessionDep
) -> PsychologistProfile:
    profile = session.get(PsychologistProfile, principal.id)
    if profile is None:
        raise NotFound("No application yet")
    return profile


def supervisor(principal: CurrentPrincipal, session: SessionDep) -> Principal:
    if not policy.is_supervisor(session, principal.user):
        raise Forbidden("Supervisors only")
    return principal


def log_reader(principal: CurrentPrincipal, session: SessionDep) -> Principal:
    if not (policy.is_admin(principal.user) or policy.is_supervisor(session, principal.user)):
        raise Forbidden("Supervisors and administrators only")
    return principal


def moderator(principal: CurrentPrincipal) -> Principal:
    if not policy.can_verify_psychologists(principal.user):
        raise Forbidden("Moderators only")
    return principal


ViewableRequest = Annotated[HelpRequest, Depends(viewable_request)]
ReadableCase = Annotated[HelpRequest, Depends(readable_case)]
ManagedCase = Annotated[HelpRequest, Depends(managed_case)]
HearableCase = Annotated[HelpRequest, Depends(hearable_case)]
LogReaderPrincipal = Annotated[Principal, Depends(log_reader)]
PsychologistPrincipal = Annotated[Principal, Depends(psychologist)]
OwnProfile = Annotated[PsychologistProfile, Depends(own_profile)]
SupervisorPrincipal = Annotated[Principal, Depends(supervisor)]
ModeratorPrincipal = Annotated[Principal, Depends(moderator)]
