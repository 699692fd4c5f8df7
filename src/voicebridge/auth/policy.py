"""Who may see or change what: every access decision in VoiceBridge lives here.

Predicates take the caller and the resource and answer yes or no; loaders in
each domain's ``deps.py`` turn a "no" into 404 Not Found rather than 403, so the
API never tells an outsider that a child, a message or a case exists. 403 is
kept for callers who may see a thing but not do this to it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from voicebridge.accounts.models import Role, User
from voicebridge.families.models import Consent, GuardianLink
from voicebridge.help.models import (
    Escalation,
    EscalationLevel,
    HelpRequest,
    Offer,
    OfferState,
    PsychologistProfile,
    RequestState,
    Verification,
)
from voicebridge.messages.models import Message, MessageState, Thread, ThreadKind
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


def child_guardian_ids(session: Session, child_id: uuid.UUID) -> list[uuid.UUID]:
    """Guardians whose link to the child is active: the only family who may reach them."""
    stmt = (
        select(GuardianLink.guardian_id)
        .join(Consent, col(Consent.link_id) == col(GuardianLink.id))
        .where(
            GuardianLink.child_id == child_id,
            col(GuardianLink.revoked_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
        )
    )
    return list(session.exec(stmt).all())


def active_guardian_counts(session: Session, school_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """``len(child_guardian_ids(child))`` for every child of a school, in one query."""
    stmt = (
        select(GuardianLink.child_id, func.count(func.distinct(GuardianLink.guardian_id)))
        .join(Consent, col(Consent.link_id) == col(GuardianLink.id))
        .join(Child, col(Child.id) == col(GuardianLink.child_id))
        .where(
            Child.school_id == school_id,
            col(GuardianLink.revoked_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
        )
        .group_by(col(GuardianLink.child_id))
    )
    return {child_id: int(n) for child_id, n in session.exec(stmt).all()}


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


# Help requests. Confidential like a counselling session: guardians never see
# them, school staff only once a request was escalated to their school's
# safeguarding contact, a psychologist only what is offered or assigned to them.


def psychologist_profile(session: Session, user: User) -> PsychologistProfile | None:
    if user.role is not Role.psychologist:
        return None
    return session.get(PsychologistProfile, user.id)


def is_verified_psychologist(session: Session, user: User) -> bool:
    profile = psychologist_profile(session, user)
    return profile is not None and profile.verification is Verification.verified


def is_supervisor(session: Session, user: User) -> bool:
    profile = psychologist_profile(session, user)
    return (
        profile is not None
        and profile.verification is Verification.verified
        and profile.is_supervisor
    )


def is_assigned_to(session: Session, user: User, request: HelpRequest) -> bool:
    """The case's psychologist, while still verified: a struck-off volunteer loses it at once."""
    return (
        user.role is Role.psychologist
        and request.psychologist_id == user.id
        and request.state is not RequestState.waiting
        and is_verified_psychologist(session, user)
    )


def is_safeguarding_contact_for(session: Session, user: User, request: HelpRequest) -> bool:
    """Only once the request was escalated to the school, and only that school's contact."""
    membership = staff_membership(session, user, request.school_id)
    if membership is None or not membership.is_safeguarding_contact:
        return False
    return (
        session.exec(
            select(Escalation.id).where(
                Escalation.request_id == request.id,
                Escalation.level == EscalationLevel.safeguarding,
            )
        ).first()
        is not None
    )


def can_take_help_request(session: Session, user: User, request: HelpRequest) -> bool:
    """An open offer to a verified psychologist: the first moment they may see the content."""
    if request.state is not RequestState.waiting or not is_verified_psychologist(session, user):
        return False
    return (
        session.exec(
            select(Offer.id).where(
                Offer.request_id == request.id,
                Offer.psychologist_id == user.id,
                Offer.state == OfferState.open,
            )
        ).first()
        is not None
    )


def can_view_help_request(session: Session, user: User, request: HelpRequest) -> bool:
    return (
        is_self(user, request.child_id)
        or is_assigned_to(session, user, request)
        or is_supervisor(session, user)
        or can_take_help_request(session, user, request)
        or is_safeguarding_contact_for(session, user, request)
    )


def can_read_case(session: Session, user: User, request: HelpRequest) -> bool:
    """The conversation itself: the child, the assigned psychologist, supervisors."""
    return (
        is_self(user, request.child_id)
        or is_assigned_to(session, user, request)
        or is_supervisor(session, user)
    )


def can_message_in_case(session: Session, user: User, request: HelpRequest) -> bool:
    return is_self(user, request.child_id) or is_assigned_to(session, user, request)


def can_manage_case(session: Session, user: User, request: HelpRequest) -> bool:
    """Urgency, closing and asking for a referral: the assigned psychologist or a supervisor."""
    return is_assigned_to(session, user, request) or is_supervisor(session, user)


def can_verify_psychologists(user: User) -> bool:
    return user.role in (Role.moderator, Role.admin)


def is_moderator(user: User) -> bool:
    """Moderators verify narrators and review public stories; admins may stand in."""
    return user.role in (Role.moderator, Role.admin)


def is_thread_participant(session: Session, user: User, thread: Thread) -> bool:
    """A family thread is the child and that guardian while their link is active; a
    school thread is the child and the current staff of the school the child is in.

    Checked on every request, so a revoked link, withdrawn consent, a child who
    left, or staff who moved on lose the thread at once for both sides.
    """
    child = session.get(Child, thread.child_id)
    if child is None or child.left_at is not None:
        return False
    if thread.kind is ThreadKind.family:
        if thread.guardian_id is None:
            return False
        if user.id == thread.guardian_id:
            return is_guardian_of(session, user, child.id)
        return (
            is_self(user, child.id)
            and active_link(session, thread.guardian_id, child.id) is not None
        )
    if thread.school_id is None or child.school_id != thread.school_id:
        return False
    return is_self(user, child.id) or is_staff_of(session, user, thread.school_id)


def can_see_message(session: Session, user: User, thread: Thread, message: Message) -> bool:
    """Listeners see a message once it is ready; its sender sees it in every state."""
    if message.deleted_at is not None or not is_thread_participant(session, user, thread):
        return False
    return message.state is MessageState.ready or message.sender_id == user.id


def can_listen(session: Session, user: User, thread: Thread, message: Message) -> bool:
    return message.state is MessageState.ready and can_see_message(session, user, thread, message)


def is_message_sender(user: User, message: Message) -> bool:
    """Only the sender reads receipts or deletes; listeners may see it but not do this (403)."""
    return message.sender_id == user.id
