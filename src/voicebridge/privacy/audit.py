"""The audit trail: one helper the services call for every staff, admin, moderator and
supervisor action, and the check that the hash chain is unbroken.

Rows are chained: each hash covers the row's fields and the previous hash. Writers
take a transaction-scoped lock first (PostgreSQL advisory lock; SQLite's writers
are serialised by ``BEGIN IMMEDIATE``), so two requests never chain onto the same
row, and a rolled-back request leaves no link behind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.privacy.models import AuditEvent

GENESIS = "0" * 64
# pg_advisory_xact_lock key: any constant the rest of the code does not use.
_LOCK_KEY = 0x7643_4155_4449_54  # "vCAUDIT"
ACTIONS = (
    "enrol",
    "pin_reset",
    "invitation",
    "invitation_cancel",
    "revoke",
    "approve",
    "reject",
    "disclose",
    "reassign",
    "close_record",
    "export",
    "erase",
)


def _digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "actor_role": event.actor_role,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": str(event.subject_id) if event.subject_id else None,
        "school_id": str(event.school_id) if event.school_id else None,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    actor: uuid.UUID | User | None,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    *,
    school_id: uuid.UUID | None = None,
    **detail: str | int | bool | None,
) -> AuditEvent:
    """Appends one event in the caller's transaction (it exists only if that commits)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if isinstance(actor, User):
        actor_id: uuid.UUID | None = actor.id
        role = actor.role.value
    else:
        actor_id = actor
        user = session.get(User, actor) if actor is not None else None
        role = user.role.value if user is not None else "system"
    bind = session.connection()
    if bind.dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_LOCK_KEY))  # type: ignore[call-overload]
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    # Microseconds are what both databases keep, so the hash survives a round trip.
    now = clock.now().astimezone(UTC)
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        at=now,
        actor_id=actor_id,
        actor_role=role,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        school_id=school_id,
        detail={k: v for k, v in detail.items() if v is not None},
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    event.hash = _digest(event)
    session.add(event)
    session.flush()
    return event


@dataclass
class ChainReport:
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.events} events, hash chain verified"
        return f"audit trail BROKEN: {len(self.problems)} problems in {self.events} events\n" + (
            "\n".join(self.problems[:50])
        )


def _all(engine: Engine, batch: int = 1000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        with Session(engine) as session:
            rows = session.exec(
                select(AuditEvent)
                .where(AuditEvent.seq > after)
                .order_by(col(AuditEvent.seq))
                .limit(batch)
            ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify_chain(engine: Engine) -> ChainReport:
    """Walks the whole trail in seq order, in bounded batches."""
    report = ChainReport()
    prev_hash, prev_seq = GENESIS, 0
    for event in _all(engine):
        report.events += 1
        if event.seq != prev_seq + 1:
            report.problems.append(f"seq {event.seq}: expected {prev_seq + 1} (rows removed)")
        if event.prev_hash != prev_hash:
            report.problems.append(f"seq {event.seq}: does not chain onto the previous row")
        if _digest(event) != event.hash:
            report.problems.append(f"seq {event.seq}: contents changed after writing")
        prev_hash, prev_seq = event.hash, event.seq
    return report


def _aware(value: datetime | None) -> datetime | None:
    """A filter time without a zone is read as UTC (stored times are UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def search(
    session: Session,
    *,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    subject_id: uuid.UUID | None = None,
    school_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first; ``before_seq`` is the cursor for the next page."""
    since, until = _aware(since), _aware(until)
    stmt = select(AuditEvent)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if subject_id is not None:
        stmt = stmt.where(AuditEvent.subject_id == subject_id)
    if school_id is not None:
        stmt = stmt.where(AuditEvent.school_id == school_id)
    if since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEvent.at) < until)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return list(session.exec(stmt.order_by(col(AuditEvent.seq).desc()).limit(limit)).all())
