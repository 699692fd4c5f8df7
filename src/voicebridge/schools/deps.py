"""Loaders that fetch a school or child and apply the access policy (404 before 403)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentPrincipal
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, NotFound
from voicebridge.schools.models import Child, School


def viewable_school(
    school_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> School:
    school = session.get(School, school_id)
    if school is None or not policy.can_view_school(session, principal.user, school_id):
        raise NotFound("No such school")
    return school


def administered_school(
    school: Annotated[School, Depends(viewable_school)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> School:
    if not policy.can_administer_school(session, principal.user, school.id):
        raise Forbidden("Only the school's administrators can do that")
    return school


def managed_school(
    school: Annotated[School, Depends(viewable_school)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> School:
    if not policy.can_manage_children(session, principal.user, school.id):
        raise Forbidden("Only the school's staff can do that")
    return school


def viewable_child(child_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> Child:
    child = session.get(Child, child_id)
    if (
        child is None
        or child.left_at is not None
        or not policy.can_view_child(session, principal.user, child)
    ):
        raise NotFound("No such child")
    return child


def managed_child(
    child: Annotated[Child, Depends(viewable_child)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Child:
    if not policy.can_manage_children(session, principal.user, child.school_id):
        raise Forbidden("Only the child's school can do that")
    return child


ViewableSchool = Annotated[School, Depends(viewable_school)]
AdministeredSchool = Annotated[School, Depends(administered_school)]
ManagedSchool = Annotated[School, Depends(managed_school)]
ViewableChild = Annotated[Child, Depends(viewable_child)]
ManagedChild = Annotated[Child, Depends(managed_child)]
