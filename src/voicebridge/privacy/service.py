"""Closing a child's record, and a guardian's erasure of their own account."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.auth import service as auth
from voicebridge.errors import Conflict, InvalidInput
from voicebridge.families.models import GuardianLink
from voicebridge.privacy import audit, lifecycle
from voicebridge.privacy.config import PrivacySettings
from voicebridge.privacy.models import Erasure, ErasureScope
from voicebridge.schools.models import Child

LEFT_REASON = "The child left the school"


def close_child_record(
    session: Session, settings: PrivacySettings, child: Child, by: uuid.UUID, reason: str
) -> Erasure:
    """The child left: signing in, messages and links stop now; their data goes after grace."""
    if child.left_at is not None:
        raise Conflict("This child's record is already closed")
    child.left_at = clock.now()
    session.add(child)
    session.flush()
    for link in session.exec(
        select(GuardianLink).where(
            GuardianLink.child_id == child.id, col(GuardianLink.revoked_at).is_(None)
        )
    ).all():
        # The child's erasure covers these threads; no separate guardian-side timer.
        link.revoked_at, link.revoked_by, link.revoked_reason = child.left_at, by, LEFT_REASON
        session.add(link)
    auth.revoke_user_sessions(session, child.id, "record closed")
    audit.record(
        session, by, "close_record", "child", child.id, school_id=child.school_id, reason=reason
    )
    return lifecycle.schedule(
        session,
        ErasureScope.child,
        child.id,
        reason="closure",
        after=timedelta(days=settings.closure_grace_days),
        by=by,
    )


def erase_account(session: Session, user: User, by: User) -> Erasure:
    """Signs the guardian out everywhere now; the erasure job runs at once."""
    if user.role is not Role.guardian:
        raise InvalidInput("Only a guardian's account is erased this way")
    if user.login is None and user.disabled_at is not None:
        raise Conflict("This account was already erased")
    user.disabled_at = user.disabled_at or clock.now()
    session.add(user)
    auth.revoke_user_sessions(session, user.id, "account erased")
    audit.record(session, by, "erase", "user", user.id)
    return lifecycle.schedule(
        session, ErasureScope.account, user.id, reason="erasure", after=timedelta(0), by=by.id
    )


def erasure_due(session: Session, link_id: uuid.UUID) -> datetime | None:
    erasure = lifecycle.pending(session, ErasureScope.link, link_id)
    return erasure.due_at if erasure is not None else None
