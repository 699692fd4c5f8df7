"""Loaders for invitations and guardian links, with the access policy applied."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentPrincipal
from voicebridge.db import SessionDep
from voicebridge.errors import NotFound
from voicebridge.families.models import GuardianLink, Invitation
from voicebridge.schools.models import Child


def managed_invitation(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Invitation:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or not policy.can_manage_children(
        session, principal.user, invitation.school_id
    ):
        raise NotFound("No such invitation")
    return invitation


def _link_and_child(session: SessionDep, link_id: uuid.UUID) -> tuple[GuardianLink, Child] | None:
    link = session.get(GuardianLink, link_id)
    child = session.get(Child, link.child_id) if link is not None else None
    return (link, child) if link is not None and child is not None else None


def staff_link(
    link_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> GuardianLink:
    """Staff of the child's school (or an admin) may revoke any of its guardian links."""
    found = _link_and_child(session, link_id)
    if found is None or not policy.can_manage_children(session, principal.user, found[1].school_id):
        raise NotFound("No such guardian link")
    return found[0]


def own_link(link_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> GuardianLink:
    """Only the guardian on a link may withdraw its consent."""
    link = session.get(GuardianLink, link_id)
    if link is None or link.guardian_id != principal.id or link.revoked_at is not None:
        raise NotFound("No such guardian link")
    return link


ManagedInvitation = Annotated[Invitation, Depends(managed_invitation)]
StaffLink = Annotated[GuardianLink, Depends(staff_link)]
OwnLink = Annotated[GuardianLink, Depends(own_link)]
