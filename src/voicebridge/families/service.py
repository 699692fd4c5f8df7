"""Guardian links: staff vouch for an adult in person, the adult redeems a code and consents."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.auth import throttle
from voicebridge.auth.passwords import hash_secret
from voicebridge.config import AuthSettings
from voicebridge.errors import Conflict, InvalidInput, NotFound
from voicebridge.families.models import Consent, GuardianLink, Invitation, Relation
from voicebridge.families.schemas import CONSENT_PURPOSES
from voicebridge.notifications import events as notify
from voicebridge.privacy import audit, lifecycle
from voicebridge.privacy.config import PrivacySettings
from voicebridge.privacy.models import ErasureScope
from voicebridge.schools.models import Child, School
from voicebridge.transcripts import store as transcripts

REDEEM_SCOPE = "redeem"
_DEFAULT_GRACE = timedelta(days=PrivacySettings().withdrawal_grace_days)
# No 0/O/1/I/L: codes are read aloud and typed on cheap phones.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normalise_code(code: str) -> str:
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def issue_invitation(
    session: Session,
    settings: AuthSettings,
    child: Child,
    relation: Relation,
    note: str | None,
    by: uuid.UUID,
) -> tuple[Invitation, str]:
    code = _new_code()
    invitation = Invitation(
        child_id=child.id,
        school_id=child.school_id,
        relation=relation,
        code_hash=hash_secret(code),
        note=note,
        created_by=by,
        expires_at=clock.now() + timedelta(days=settings.invite_days),
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        by,
        "invitation",
        "invitation",
        invitation.id,
        school_id=child.school_id,
        child=str(child.id),
        relation=relation.value,
    )
    return invitation, code


def list_invitations(session: Session, child_id: uuid.UUID) -> list[Invitation]:
    return list(
        session.exec(
            select(Invitation)
            .where(Invitation.child_id == child_id)
            .order_by(col(Invitation.created_at).desc())
        ).all()
    )


def cancel_invitation(
    session: Session, invitation: Invitation, by: uuid.UUID | None = None
) -> Invitation:
    if invitation.redeemed_at is not None:
        raise Conflict("The invitation was already used")
    if invitation.cancelled_at is None:
        invitation.cancelled_at = clock.now()
        session.add(invitation)
        session.flush()
        if by is not None:
            audit.record(
                session,
                by,
                "invitation_cancel",
                "invitation",
                invitation.id,
                school_id=invitation.school_id,
            )
    return invitation


def redeem(
    session: Session,
    settings: AuthSettings,
    guardian: User,
    code: str,
    *,
    notice_version: str,
    purposes: list[str],
    retention_days: int,
    agreed: bool,
) -> GuardianLink:
    """Turns a code into a verified link. Wrong codes are counted per guardian.

    Every failure looks the same (unknown, used, expired, cancelled), so a
    guesser learns nothing about which codes exist.
    """
    unknown = sorted(set(purposes) - set(CONSENT_PURPOSES))
    if unknown:
        raise InvalidInput(f"Unknown consent purposes: {', '.join(unknown)}")
    if not agreed:
        raise InvalidInput("Consent is needed to link to a child")
    key = str(guardian.id)
    window = timedelta(hours=1)
    throttle.ensure_allowed(session, REDEEM_SCOPE, key, settings.invite_max_failures, window)
    now = clock.now()
    invitation = session.exec(
        select(Invitation).where(Invitation.code_hash == hash_secret(_normalise_code(code)))
    ).first()
    if (
        invitation is None
        or invitation.redeemed_at is not None
        or invitation.cancelled_at is not None
        or invitation.expires_at <= now
    ):
        throttle.record_failure(session, REDEEM_SCOPE, key)
        raise NotFound("No valid invitation with that code", persist=True)
    child = session.get(Child, invitation.child_id)
    if child is None or child.left_at is not None:
        raise NotFound("No valid invitation with that code")
    existing = session.exec(
        select(GuardianLink).where(
            GuardianLink.guardian_id == guardian.id,
            GuardianLink.child_id == child.id,
            col(GuardianLink.revoked_at).is_(None),
        )
    ).first()
    if existing is not None:
        # A second code for the same child renews consent instead of adding a link.
        for old in session.exec(
            select(Consent).where(
                Consent.link_id == existing.id, col(Consent.withdrawn_at).is_(None)
            )
        ).all():
            old.withdrawn_at = now
            session.add(old)
        link = existing
    else:
        link = GuardianLink(
            child_id=child.id,
            guardian_id=guardian.id,
            relation=invitation.relation,
            invitation_id=invitation.id,
            verified_by=invitation.created_by,
        )
        session.add(link)
        session.flush()
    invitation.redeemed_at = now
    invitation.redeemed_by = guardian.id
    session.add(invitation)
    session.add(
        Consent(
            link_id=link.id,
            guardian_id=guardian.id,
            child_id=child.id,
            notice_version=notice_version,
            purposes=sorted(set(purposes)),
            retention_days=retention_days,
        )
    )
    if "transcripts" not in purposes:
        # A renewed consent without transcripts ends them, old ones included.
        transcripts.forget_family(session, child.id, guardian.id)
    throttle.clear(session, REDEEM_SCOPE, key)
    session.flush()
    lifecycle.cancel(session, ErasureScope.link, link.id)
    notify.invitation_redeemed(session, invitation, guardian, link)
    return link


def current_consent(session: Session, link_id: uuid.UUID) -> Consent | None:
    return session.exec(
        select(Consent).where(Consent.link_id == link_id).order_by(col(Consent.given_at).desc())
    ).first()


def needs_consent(session: Session, link_id: uuid.UUID, current_version: str) -> bool:
    consent = current_consent(session, link_id)
    return consent is None or consent.notice_version != current_version


def links_of_child(session: Session, child_id: uuid.UUID) -> list[tuple[GuardianLink, User]]:
    stmt = (
        select(GuardianLink, User)
        .join(User, col(User.id) == col(GuardianLink.guardian_id))
        .where(GuardianLink.child_id == child_id)
        .order_by(col(GuardianLink.created_at))
    )
    return [(link, user) for link, user in session.exec(stmt).all()]


def revoke_link(
    session: Session,
    link: GuardianLink,
    by: uuid.UUID,
    reason: str,
    *,
    grace: timedelta = _DEFAULT_GRACE,
) -> GuardianLink:
    """Closes the thread at once; deletes that guardian's side of it after ``grace``."""
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        link.revoked_by = by
        link.revoked_reason = reason
        session.add(link)
        session.flush()
        child = session.get(Child, link.child_id)
        audit.record(
            session,
            by,
            "revoke",
            "guardian_link",
            link.id,
            school_id=child.school_id if child else None,
            reason=reason,
        )
        lifecycle.schedule(
            session, ErasureScope.link, link.id, reason="revocation", after=grace, by=by
        )
    return link


def withdraw_consent(
    session: Session, link: GuardianLink, *, grace: timedelta = _DEFAULT_GRACE
) -> GuardianLink:
    """Closes the thread at once; deletes it after ``grace`` unless consent is given again."""
    now = clock.now()
    withdrawn = False
    for consent in session.exec(
        select(Consent).where(Consent.link_id == link.id, col(Consent.withdrawn_at).is_(None))
    ).all():
        consent.withdrawn_at = now
        session.add(consent)
        withdrawn = True
    # No new transcripts (the job asks for consent again) and none of the old ones.
    transcripts.forget_family(session, link.child_id, link.guardian_id)
    session.flush()
    if withdrawn:
        lifecycle.schedule(
            session,
            ErasureScope.link,
            link.id,
            reason="withdrawal",
            after=grace,
            by=link.guardian_id,
        )
    return link


def renew_consent(
    session: Session,
    link: GuardianLink,
    *,
    notice_version: str,
    current_version: str,
    purposes: list[str],
    retention_days: int,
    agreed: bool,
) -> GuardianLink:
    """Consent to the current notice: after a new version, or to undo a withdrawal."""
    unknown = sorted(set(purposes) - set(CONSENT_PURPOSES))
    if unknown:
        raise InvalidInput(f"Unknown consent purposes: {', '.join(unknown)}")
    if not agreed:
        raise InvalidInput("Consent is needed to stay linked to the child")
    if notice_version != current_version:
        raise Conflict(f"The current consent notice is {current_version}; read and accept it")
    now = clock.now()
    for old in session.exec(
        select(Consent).where(Consent.link_id == link.id, col(Consent.withdrawn_at).is_(None))
    ).all():
        old.withdrawn_at = now
        session.add(old)
    session.add(
        Consent(
            link_id=link.id,
            guardian_id=link.guardian_id,
            child_id=link.child_id,
            notice_version=notice_version,
            purposes=sorted(set(purposes)),
            retention_days=retention_days,
        )
    )
    if "transcripts" not in purposes:
        transcripts.forget_family(session, link.child_id, link.guardian_id)
    session.flush()
    lifecycle.cancel(session, ErasureScope.link, link.id)
    return link


def children_of_guardian(
    session: Session, guardian_id: uuid.UUID
) -> list[tuple[GuardianLink, Child, School]]:
    stmt = (
        select(GuardianLink, Child, School)
        .join(Child, col(Child.id) == col(GuardianLink.child_id))
        .join(School, col(School.id) == col(Child.school_id))
        .join(Consent, col(Consent.link_id) == col(GuardianLink.id))
        .where(
            GuardianLink.guardian_id == guardian_id,
            col(GuardianLink.revoked_at).is_(None),
            col(Consent.withdrawn_at).is_(None),
            col(Child.left_at).is_(None),
        )
        .order_by(col(Child.given_name))
    )
    return [(link, child, school) for link, child, school in session.exec(stmt).all()]


def guardian_of(session: Session, link: GuardianLink) -> User:
    user = session.get(User, link.guardian_id)
    if user is None:
        raise NotFound("No such guardian")
    return user
