"""Who may see or change what: every access decision in VoiceBridge lives here.

Predicates take the caller and the resource and answer yes or no; loaders in
each domain's ``deps.py`` turn a "no" into 404 Not Found rather than 403, so the
API never tells an outsider that a child, a message or a case exists. 403 is
kept for callers who may see a thing but not do this to it.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from voicebridge.accounts.models import Role, User
from voicebridge.families.models import Consent, GuardianLink
from voicebridge.schools.models import Child, StaffMembership, StaffRole


def is_admin(user: User) -> bool:
    return user.role is Role.admin


def staff_membership(session: Session, user: User, school_id: uuid.UUID) -> StaffMembership | None:
    if user.role is not Role.staff:
        return None
    return session.exec(
        select(StaffMembership).where(
            StaffMembership.user_id == user.id,
            StaffMembership.school_id == school_id,
            col(StaffMembership.ended_at).is_(None),
        )
    ).first()


def staff_school_ids(session: Session, user: User) -> list[uuid.UUID]:
    if user.role is not Role.staff:
        return []
    return list(
        session.exec(
            select(StaffMembership.school_id).where(
                StaffMembership.user_id == user.id, col(StaffMembership.ended_at).is_(None)
            )
        ).all()
    )


def is_staff_of(session: Session, user: User, school_id: uuid.UUID) -> bool:
    return staff_membership(session, user, school_id) is not None


def can_view_school(session: Session, user: User, school_id: uuid.UUID) -> bool:
    return is_admin(user) or is_staff_of(session, user, school_id)


def can_administer_school(session: Session, user: User, school_id: uuid.UUID) -> bool:
    """Platform admins and a school's own admin staff manage its staff and settings."""
    if is_admin(user):
        return True
    membership = staff_membership(session, user, school_id)
    return membership is not None and membership.role is StaffRole.admin


def can_manage_children(session: Session, user: User, school_id: uuid.UUID) -> bool:
    """Enrolling, PIN resets, devices and guardian verification: any staff of the school."""
    return is_admin(user) or is_staff_of(session, user, school_id)


def active_link(
    session: Session, guardian_id: uuid.UUID, child_id: uuid.UUID
) -> GuardianLink | None:
    """A link the school verified, not revoked, with consent given and not withdrawn."""
    stmt = (
        select(GuardianLink)
        .join(Consent, col(Consent.link_id) == col(GuardianLink.id))
        .where(
            GuardianLink.guardian_id == guardian_id,
            GuardianLink.child_id == child_id,
            col(GuardianLink.revoked_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
        )
    )
    return session.exec(stmt).first()


def is_guardian_of(session: Session, user: User, child_id: uuid.UUID) -> bool:
    return user.role is Role.guardian and active_link(session, user.id, child_id) is not None


def guardian_child_ids(session: Session, user: User) -> list[uuid.UUID]:
    if user.role is not Role.guardian:
        return []
    stmt = (
        select(GuardianLink.child_id)
        .join(Consent, col(Consent.link_id) == col(GuardianLink.id))
        .where(
            GuardianLink.guardian_id == user.id,
            col(GuardianLink.revoked_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
        )
    )
    return list(session.exec(stmt).all())


def is_self(user: User, child_id: uuid.UUID) -> bool:
    return user.role is Role.child and user.id == child_id


def can_view_child(session: Session, user: User, child: Child) -> bool:
    """A child's record: the child, their verified guardians, their school, admins."""
    return (
        is_self(user, child.id)
        or is_admin(user)
        or is_staff_of(session, user, child.school_id)
        or is_guardian_of(session, user, child.id)
    )


def can_contact_child(session: Session, user: User, child: Child) -> bool:
    """Who may send a child a voice message: verified guardians and the child's school.

    Psychologists reach a child only through an assigned help request (help domain).
    """
    return is_guardian_of(session, user, child.id) or is_staff_of(session, user, child.school_id)


def is_moderator(user: User) -> bool:
    """Moderators verify narrators and review public stories; admins may stand in."""
    return user.role in (Role.moderator, Role.admin)
