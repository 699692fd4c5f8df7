"""School rules: staff, classes, enrolment, devices and the roster children pick from."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from voicebridge import clock
from voicebridge.accounts import service as accounts
from voicebridge.accounts.models import Role, User
from voicebridge.auth import service as auth
from voicebridge.auth import throttle
from voicebridge.auth.models import Device
from voicebridge.auth.passwords import Passwords
from voicebridge.errors import Conflict, InvalidInput, NotFound
from voicebridge.pagination import decode_cursor
from voicebridge.privacy import audit
from voicebridge.schools.models import (
    Child,
    School,
    SchoolClass,
    StaffInvitation,
    StaffMembership,
    StaffRole,
)
from voicebridge.schools.names import full_name


def create_school(
    session: Session,
    name: str,
    region: str,
    timezone: str,
    listening_hours: list[dict[str, Any]],
) -> School:
    school = School(name=name, region=region, timezone=timezone, listening_hours=listening_hours)
    session.add(school)
    session.flush()
    return school


def update_school(session: Session, school: School, changes: dict[str, Any]) -> School:
    for field, value in changes.items():
        setattr(school, field, value)
    session.add(school)
    session.flush()
    return school


def list_schools(session: Session, school_ids: list[uuid.UUID] | None) -> list[School]:
    stmt = select(School).order_by(col(School.name), col(School.id))
    if school_ids is not None:
        stmt = stmt.where(col(School.id).in_(school_ids))
    return list(session.exec(stmt).all())


def create_class(session: Session, school: School, name: str) -> SchoolClass:
    existing = session.exec(
        select(SchoolClass).where(SchoolClass.school_id == school.id, SchoolClass.name == name)
    ).first()
    if existing is not None:
        raise Conflict("A class with that name exists at this school")
    school_class = SchoolClass(school_id=school.id, name=name)
    session.add(school_class)
    session.flush()
    return school_class


def list_classes(session: Session, school_id: uuid.UUID) -> list[SchoolClass]:
    return list(
        session.exec(
            select(SchoolClass)
            .where(SchoolClass.school_id == school_id)
            .order_by(col(SchoolClass.name))
        ).all()
    )


def add_staff(
    session: Session,
    passwords: Passwords,
    school: School,
    *,
    login: str,
    display_name: str,
    password: str | None,
    role: StaffRole,
    is_safeguarding_contact: bool,
    invited_by: uuid.UUID | None = None,
) -> tuple[StaffMembership | StaffInvitation, User]:
    """A new account joins at once (the school made it for the person); an existing
    account is only invited, and joins when its owner accepts."""
    user = session.exec(select(User).where(User.login == login)).first()
    existing = user is not None
    if user is None:
        if password is None:
            raise InvalidInput("A new staff account needs a password")
        user = accounts.create_user(
            session,
            passwords,
            role=Role.staff,
            login=login,
            display_name=display_name,
            password=password,
        )
    elif user.role is not Role.staff:
        raise Conflict("That login belongs to an account that is not school staff")
    if session.exec(
        select(StaffMembership).where(
            StaffMembership.user_id == user.id,
            StaffMembership.school_id == school.id,
            col(StaffMembership.ended_at).is_(None),
        )
    ).first():
        raise Conflict("Already on this school's staff")
    if existing:
        return invite_staff(session, school, user, role, is_safeguarding_contact, invited_by), user
    return _join(session, school.id, user, role, is_safeguarding_contact), user


INVITATION_DAYS = 14


def invite_staff(
    session: Session,
    school: School,
    user: User,
    role: StaffRole,
    is_safeguarding_contact: bool,
    invited_by: uuid.UUID | None,
) -> StaffInvitation:
    for old in pending_invitations(session, user.id, school.id):
        old.answered_at, old.accepted = clock.now(), False  # replaced by this one
        session.add(old)
    invitation = StaffInvitation(
        school_id=school.id,
        user_id=user.id,
        role=role,
        is_safeguarding_contact=is_safeguarding_contact,
        invited_by=invited_by,
        expires_at=clock.now() + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        invited_by,
        "invitation",
        "staff_invitation",
        invitation.id,
        school_id=school.id,
        invitee=str(user.id),
        role=role.value,
    )
    return invitation


def pending_invitations(
    session: Session, user_id: uuid.UUID, school_id: uuid.UUID | None = None
) -> list[StaffInvitation]:
    stmt = select(StaffInvitation).where(
        StaffInvitation.user_id == user_id,
        col(StaffInvitation.answered_at).is_(None),
        col(StaffInvitation.expires_at) > clock.now(),
    )
    if school_id is not None:
        stmt = stmt.where(StaffInvitation.school_id == school_id)
    return list(session.exec(stmt.order_by(col(StaffInvitation.created_at))).all())


def answer_invitation(
    session: Session, user: User, invitation_id: uuid.UUID, accept: bool
) -> StaffMembership | None:
    """Only the invited person answers; anyone else finds no such invitation."""
    invitation = session.get(StaffInvitation, invitation_id)
    if (
        invitation is None
        or invitation.user_id != user.id
        or invitation.answered_at is not None
        or invitation.expires_at <= clock.now()
    ):
        raise NotFound("No such invitation")
    invitation.answered_at, invitation.accepted = clock.now(), accept
    session.add(invitation)
    if not accept:
        session.flush()
        return None
    if session.exec(
        select(StaffMembership).where(
            StaffMembership.user_id == user.id,
            StaffMembership.school_id == invitation.school_id,
            col(StaffMembership.ended_at).is_(None),
        )
    ).first():
        raise Conflict("Already on this school's staff")
    return _join(
        session, invitation.school_id, user, invitation.role, invitation.is_safeguarding_contact
    )


def _join(
    session: Session,
    school_id: uuid.UUID,
    user: User,
    role: StaffRole,
    is_safeguarding_contact: bool,
) -> StaffMembership:
    if is_safeguarding_contact:
        _clear_safeguarding_contact(session, school_id)
    ended = session.exec(
        select(StaffMembership).where(
            StaffMembership.user_id == user.id, StaffMembership.school_id == school_id
        )
    ).first()
    if ended is not None:  # one row per school and person: a returning member rejoins
        ended.ended_at, ended.role = None, role
        ended.is_safeguarding_contact = is_safeguarding_contact
        session.add(ended)
        session.flush()
        return ended
    membership = StaffMembership(
        school_id=school_id,
        user_id=user.id,
        role=role,
        is_safeguarding_contact=is_safeguarding_contact,
    )
    session.add(membership)
    session.flush()
    return membership


def _clear_safeguarding_contact(session: Session, school_id: uuid.UUID) -> None:
    """One safeguarding contact per school: naming a new one replaces the old."""
    for m in session.exec(
        select(StaffMembership).where(
            StaffMembership.school_id == school_id,
            col(StaffMembership.is_safeguarding_contact).is_(True),
        )
    ).all():
        m.is_safeguarding_contact = False
        session.add(m)
    session.flush()


def list_staff(session: Session, school_id: uuid.UUID) -> list[tuple[StaffMembership, User]]:
    stmt = (
        select(StaffMembership, User)
        .join(User, col(User.id) == col(StaffMembership.user_id))
        .where(StaffMembership.school_id == school_id, col(StaffMembership.ended_at).is_(None))
        .order_by(col(User.display_name))
    )
    return [(m, u) for m, u in session.exec(stmt).all()]


def get_membership(
    session: Session, school_id: uuid.UUID, membership_id: uuid.UUID
) -> StaffMembership:
    m = session.get(StaffMembership, membership_id)
    if m is None or m.school_id != school_id or m.ended_at is not None:
        raise NotFound("No such staff member")
    return m


def end_membership(session: Session, membership: StaffMembership) -> None:
    membership.ended_at = clock.now()
    membership.is_safeguarding_contact = False
    session.add(membership)
    others = session.exec(
        select(StaffMembership).where(
            StaffMembership.user_id == membership.user_id, col(StaffMembership.ended_at).is_(None)
        )
    ).all()
    if not [o for o in others if o.id != membership.id]:
        auth.revoke_user_sessions(session, membership.user_id, "staff-removed")
    session.flush()


def safeguarding_contact(session: Session, school_id: uuid.UUID) -> StaffMembership | None:
    return session.exec(
        select(StaffMembership).where(
            StaffMembership.school_id == school_id,
            col(StaffMembership.is_safeguarding_contact).is_(True),
            col(StaffMembership.ended_at).is_(None),
        )
    ).first()


def _class_of(session: Session, school_id: uuid.UUID, class_id: uuid.UUID) -> SchoolClass:
    school_class = session.get(SchoolClass, class_id)
    if school_class is None or school_class.school_id != school_id:
        raise InvalidInput("No such class at this school")
    return school_class


def enrol_child(
    session: Session,
    passwords: Passwords,
    school: School,
    *,
    given_name: str,
    family_name: str,
    class_id: uuid.UUID,
    birth_year: int,
    pin: str,
    by: uuid.UUID | None = None,
) -> Child:
    _class_of(session, school.id, class_id)
    user = User(role=Role.child, display_name=full_name(family_name, given_name))
    session.add(user)
    session.flush()
    child = Child(
        id=user.id,
        school_id=school.id,
        class_id=class_id,
        given_name=given_name,
        family_name=family_name,
        birth_year=birth_year,
        pin_hash=passwords.hash(pin),
    )
    session.add(child)
    session.flush()
    if by is not None:
        audit.record(session, by, "enrol", "child", child.id, school_id=school.id)
    return child


def update_child(session: Session, child: Child, changes: dict[str, Any]) -> Child:
    if changes.get("class_id") is not None:
        _class_of(session, child.school_id, changes["class_id"])
    for field, value in changes.items():
        if value is not None:
            setattr(child, field, value)
    user = session.get(User, child.id)
    if user is not None:
        user.display_name = full_name(child.family_name, child.given_name)
        session.add(user)
    session.add(child)
    session.flush()
    return child


def reset_pin(
    session: Session, passwords: Passwords, child: Child, pin: str, by: uuid.UUID | None = None
) -> Child:
    child.pin_hash = passwords.hash(pin)
    child.pin_failures = 0
    child.pin_locked_at = None
    child.pin_alerted_at = None
    session.add(child)
    # A teacher who reset the PIN has seen the child: every device may try again.
    throttle.clear(session, auth.PIN_CHILD_SCOPE, str(child.id))
    throttle.clear_ending(session, auth.PIN_PAIR_SCOPE, f"|{child.id}")
    session.flush()
    if by is not None:
        audit.record(session, by, "pin_reset", "child", child.id, school_id=child.school_id)
    return child


def list_children(
    session: Session,
    school_id: uuid.UUID,
    *,
    class_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> list[Child]:
    stmt = select(Child).where(Child.school_id == school_id, col(Child.left_at).is_(None))
    if class_id is not None:
        stmt = stmt.where(Child.class_id == class_id)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                col(Child.enrolled_at) > at,
                (col(Child.enrolled_at) == at) & (col(Child.id) > last_id),
            )
        )
    stmt = stmt.order_by(col(Child.enrolled_at), col(Child.id)).limit(limit + 1)
    return list(session.exec(stmt).all())


def list_devices(session: Session, school_id: uuid.UUID) -> list[Device]:
    return list(
        session.exec(
            select(Device).where(Device.school_id == school_id).order_by(col(Device.created_at))
        ).all()
    )


def roster(session: Session, school_id: uuid.UUID) -> list[tuple[SchoolClass, list[Child]]]:
    """What a shared device shows: classes and first names, nothing more."""
    classes = list_classes(session, school_id)
    children = session.exec(
        select(Child)
        .where(Child.school_id == school_id, col(Child.left_at).is_(None))
        .order_by(col(Child.given_name))
    ).all()
    by_class: dict[uuid.UUID, list[Child]] = {c.id: [] for c in classes}
    for child in children:
        by_class.setdefault(child.class_id, []).append(child)
    return [(c, by_class[c.id]) for c in classes]


def get_school(session: Session, school_id: uuid.UUID) -> School:
    school = session.get(School, school_id)
    if school is None:
        raise NotFound("No such school")
    return school


def get_device(session: Session, school_id: uuid.UUID, device_id: uuid.UUID) -> Device:
    device = session.get(Device, device_id)
    if device is None or device.school_id != school_id:
        raise NotFound("No such device")
    return device
