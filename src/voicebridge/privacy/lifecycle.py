"""Withdrawal, revocation, a child leaving, a guardian erasing their account.

Each schedules an ``Erasure`` for a stated date and a job due then, in the same
transaction as the change. The job re-checks before deleting: consent renewed or
a link restored before the date cancels it. The date is shown to the guardian
(``erasure_due_at`` on their link) and in the consent notice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.auth.models import AuthSession
from voicebridge.families.models import Consent, GuardianLink, Invitation
from voicebridge.jobs import service as jobs
from voicebridge.jobs.registry import JobContext, PermanentJobError, job_handler
from voicebridge.messages.models import Thread, ThreadKind
from voicebridge.notifications.models import Notification, Preference, PushSubscription
from voicebridge.privacy.models import DataExport, Erasure, ErasureScope
from voicebridge.privacy.purge import Tally, purge_progress, purge_stories, purge_threads
from voicebridge.privacy.retention import record
from voicebridge.schools.models import Child
from voicebridge.stories.models import Story

log = logging.getLogger(__name__)

ERASE_JOB = "privacy.erase"


def _job_key(erasure_id: uuid.UUID) -> str:
    return f"{ERASE_JOB}:{erasure_id}"


def pending(session: Session, scope: ErasureScope, subject_id: uuid.UUID) -> Erasure | None:
    return session.exec(
        select(Erasure).where(
            Erasure.scope == scope,
            Erasure.subject_id == subject_id,
            col(Erasure.done_at).is_(None),
            col(Erasure.cancelled_at).is_(None),
        )
    ).first()


def schedule(
    session: Session,
    scope: ErasureScope,
    subject_id: uuid.UUID,
    *,
    reason: str,
    after: timedelta,
    by: uuid.UUID | None,
) -> Erasure:
    """One pending erasure per subject: a second request keeps the earlier date."""
    existing = pending(session, scope, subject_id)
    due = clock.now() + after
    if existing is not None:
        if due < existing.due_at:
            existing.due_at = due
            session.add(existing)
            jobs.cancel(session, _job_key(existing.id))
            jobs.enqueue(
                session,
                ERASE_JOB,
                {"erasure_id": str(existing.id)},
                run_at=due,
                dedupe_key=_job_key(existing.id),
            )
        return existing
    erasure = Erasure(
        scope=scope, subject_id=subject_id, reason=reason, requested_by=by, due_at=due
    )
    session.add(erasure)
    session.flush()
    jobs.enqueue(
        session,
        ERASE_JOB,
        {"erasure_id": str(erasure.id)},
        run_at=due,
        dedupe_key=_job_key(erasure.id),
    )
    return erasure


def cancel(session: Session, scope: ErasureScope, subject_id: uuid.UUID) -> bool:
    erasure = pending(session, scope, subject_id)
    if erasure is None:
        return False
    erasure.cancelled_at = clock.now()
    session.add(erasure)
    jobs.cancel(session, _job_key(erasure.id))
    session.flush()
    return True


def link_is_live(session: Session, link: GuardianLink) -> bool:
    if link.revoked_at is not None:
        return False
    consent = session.exec(
        select(Consent).where(Consent.link_id == link.id).order_by(col(Consent.given_at).desc())
    ).first()
    return consent is not None and consent.withdrawn_at is None


# --- the job --------------------------------------------------------------------
# Each step opens short sessions of its own, one after another: on SQLite a session
# left open across another's writes would hold the write lock they wait for.


def _family_threads(
    session: Session, guardian_id: uuid.UUID, child_id: uuid.UUID | None
) -> list[uuid.UUID]:
    stmt = select(Thread.id).where(
        Thread.kind == ThreadKind.family, Thread.guardian_id == guardian_id
    )
    if child_id is not None:
        stmt = stmt.where(Thread.child_id == child_id)
    return list(session.exec(stmt).all())


def _erase_link(ctx: JobContext, link_id: uuid.UUID) -> Tally | None:
    with Session(ctx.engine) as session:
        link = session.get(GuardianLink, link_id)
        if link is None:
            return Tally()
        # The thread is the pair's, not the link's: a new link made before the date
        # (a fresh invitation after a revocation) keeps it as much as a renewal does.
        pair = session.exec(
            select(GuardianLink).where(
                GuardianLink.guardian_id == link.guardian_id,
                GuardianLink.child_id == link.child_id,
            )
        ).all()
        if any(link_is_live(session, other) for other in pair):
            return None  # renewed or restored in time: nothing to delete
        threads = _family_threads(session, link.guardian_id, link.child_id)
    return purge_threads(ctx.engine, ctx.store, threads, ctx.settings.privacy.retention_batch)


def _erase_child(ctx: JobContext, child_id: uuid.UUID) -> Tally | None:
    with Session(ctx.engine) as session:
        child = session.get(Child, child_id)
        if child is None:
            return Tally()
        if child.left_at is None:
            return None  # re-admitted before the date
        threads = list(session.exec(select(Thread.id).where(Thread.child_id == child_id)).all())
    tally = purge_threads(ctx.engine, ctx.store, threads, ctx.settings.privacy.retention_batch)
    with Session(ctx.engine) as session:
        tally["progress"] += purge_progress(session, child_id)
        record_child = session.get(Child, child_id)
        user = session.get(User, child_id)
        if record_child is not None:
            # The row stays (help cases and the audit trail point at it); the person goes.
            record_child.given_name = ""
            record_child.family_name = ""
            record_child.pin_hash = "!"
            session.add(record_child)
        if user is not None:
            user.display_name = ""
            user.disabled_at = user.disabled_at or clock.now()
            session.add(user)
        session.commit()
    return tally


def _erase_account(ctx: JobContext, guardian_id: uuid.UUID) -> Tally | None:
    batch = ctx.settings.privacy.retention_batch
    with Session(ctx.engine) as session:
        threads = _family_threads(session, guardian_id, None)
        stories = list(session.exec(select(Story.id).where(Story.narrator_id == guardian_id)).all())
    tally = purge_threads(ctx.engine, ctx.store, threads, batch)
    tally.update(purge_stories(ctx.engine, ctx.store, stories))
    with Session(ctx.engine) as session:
        for export in session.exec(
            select(DataExport).where(DataExport.guardian_id == guardian_id)
        ).all():
            if export.object_key:
                ctx.store.delete(export.object_key)
                tally["objects"] += 1
            session.delete(export)
            tally["exports"] += 1
        session.exec(
            update(Invitation)
            .where(col(Invitation.redeemed_by) == guardian_id)
            .values(redeemed_by=None)
        )
        links = session.exec(
            delete(GuardianLink).where(col(GuardianLink.guardian_id) == guardian_id)
        )
        tally["links"] += int(links.rowcount or 0)
        for table, column in (
            (Notification, Notification.recipient_id),
            (PushSubscription, PushSubscription.user_id),
            (Preference, Preference.user_id),
            (AuthSession, AuthSession.user_id),
        ):
            session.exec(delete(table).where(col(column) == guardian_id))
        user = session.get(User, guardian_id)
        if user is not None:
            # The id stays so the audit trail and invitations keep their meaning; nothing
            # that names or reaches the person does.
            user.login = None
            user.display_name = ""
            user.password_hash = None
            user.disabled_at = user.disabled_at or clock.now()
            session.add(user)
        session.commit()
    tally["accounts"] += 1
    return tally


_STEPS = {
    ErasureScope.link: _erase_link,
    ErasureScope.child: _erase_child,
    ErasureScope.account: _erase_account,
}


@job_handler(ERASE_JOB)
def run_erasure(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        erasure_id = uuid.UUID(str(payload["erasure_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError("payload needs erasure_id") from exc
    with Session(ctx.engine) as session:
        erasure = session.get(Erasure, erasure_id)
        if erasure is None or erasure.done_at is not None or erasure.cancelled_at is not None:
            return
        scope, subject_id, reason = erasure.scope, erasure.subject_id, erasure.reason
    tally = _STEPS[scope](ctx, subject_id)
    with Session(ctx.engine) as session:
        erasure = session.get(Erasure, erasure_id)
        assert erasure is not None
        if tally is None:
            erasure.cancelled_at = clock.now()
        else:
            erasure.done_at = clock.now()
            erasure.counts = tally.as_dict()
            record(reason, tally)
        session.add(erasure)
        session.commit()
    log.info(
        "erasure finished",
        extra={
            "erasure": str(erasure_id),
            "scope": scope.value,
            "deleted": tally.as_dict() if tally is not None else {},
            "cancelled": tally is None,
        },
    )
