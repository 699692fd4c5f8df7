"""Idempotency keys: a parent on a dropping mobile connection may send the same
create request several times; it takes effect once and every retry gets the first answer.

A key is claimed in its own short transaction before the request runs, so two
copies of the same request racing on two API processes cannot both run: the
second sees the claim and is told to retry later (409). A request that failed on
our side (5xx) releases its key so that the retry can run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.idempotency.models import IdempotencyRecord

KEEP_FOR = timedelta(hours=24)
MAX_STORED_BODY = 1024 * 1024


class Claim(Enum):
    claimed = "claimed"
    replay = "replay"
    in_progress = "in_progress"
    mismatch = "mismatch"


@dataclass(frozen=True)
class ClaimResult:
    outcome: Claim
    record_id: uuid.UUID | None = None
    status_code: int | None = None
    content_type: str | None = None
    body: bytes | None = None


def claim(
    engine: Engine, scope: str, key: str, method: str, path: str, request_sha256: str
) -> ClaimResult:
    with Session(engine) as session:
        existing = session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        ).first()
        if existing is not None and existing.created_at < clock.now() - KEEP_FOR:
            session.delete(existing)
            session.commit()
            existing = None
        if existing is not None:
            return _answer_existing(existing, method, path, request_sha256)
        record = IdempotencyRecord(
            scope=scope, key=key, method=method, path=path, request_sha256=request_sha256
        )
        session.add(record)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return ClaimResult(Claim.in_progress)
        return ClaimResult(Claim.claimed, record_id=record.id)


def _answer_existing(
    record: IdempotencyRecord, method: str, path: str, request_sha256: str
) -> ClaimResult:
    if (record.method, record.path, record.request_sha256) != (method, path, request_sha256):
        return ClaimResult(Claim.mismatch)
    if record.completed_at is None:
        return ClaimResult(Claim.in_progress)
    return ClaimResult(
        Claim.replay,
        record_id=record.id,
        status_code=record.status_code,
        content_type=record.content_type,
        body=record.body,
    )


def complete(
    engine: Engine, record_id: uuid.UUID, status_code: int, content_type: str | None, body: bytes
) -> None:
    with Session(engine) as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is None:
            return
        if status_code >= 500 or len(body) > MAX_STORED_BODY:
            # Our failure, or an answer too big to keep: let the client's retry run again.
            session.delete(record)
        else:
            record.status_code = status_code
            record.content_type = content_type
            record.body = body
            record.completed_at = clock.now()
            session.add(record)
        session.commit()


def release(engine: Engine, record_id: uuid.UUID) -> None:
    with Session(engine) as session:
        session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == record_id))
        session.commit()


def expire(session: Session) -> int:
    result = session.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < clock.now() - KEEP_FOR)
    )
    return int(result.rowcount or 0)
