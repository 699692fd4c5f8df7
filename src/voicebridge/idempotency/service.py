"""Idempotency keys: a parent on a dropping mobile connection may send the same
create request several times; it takes effect once and every retry gets the first answer.

A key is claimed in its own short transaction before the request runs, so two
copies of the same request racing on two API processes cannot both run: the
second sees the claim and is told to retry later (409). The claim names its
holder (``host:pid:process-start``) and when it was taken. A claim whose holder
process is gone (same host) or that is older than the lease is taken over by
the retry, which runs the request again.

The answer is written into the record *in the request's own transaction*, by a
conditional update that only the current holder can make: either the change
and its answer commit together, or neither does. A request whose claim was
taken over while it ran finds its update refused and rolls its change back, so
the change happens once whatever crashes or stalls. A request that failed on
our side (5xx) releases its key so that the retry can run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voicebridge import clock, processes
from voicebridge.idempotency.models import IdempotencyRecord

KEEP_FOR = timedelta(hours=24)
MAX_STORED_BODY = 1024 * 1024
# Headers a client needs to continue from a replayed answer (tus resumption above all).
REPLAYED_HEADERS = (
    "location",
    "content-location",
    "upload-offset",
    "upload-length",
    "upload-expires",
    "tus-resumable",
    "asset-id",
    "retry-after",
)


class Claim(Enum):
    claimed = "claimed"
    replay = "replay"
    in_progress = "in_progress"
    mismatch = "mismatch"
    secret = "secret"


@dataclass(frozen=True)
class ClaimResult:
    outcome: Claim
    record_id: uuid.UUID | None = None
    status_code: int | None = None
    content_type: str | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    taken_over: bool = False


# This process, as recorded on the claims it holds; see ``voicebridge.processes``.
holder_id = processes.this_process
holder_gone = processes.gone


def claim(
    engine: Engine,
    scope: str,
    key: str,
    method: str,
    path: str,
    request_sha256: str,
    *,
    holder: str,
    lease: timedelta,
) -> ClaimResult:
    with Session(engine) as session:
        existing = session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        ).first()
        now = clock.now()
        if existing is not None and existing.created_at < now - KEEP_FOR:
            session.delete(existing)
            session.commit()
            existing = None
        if existing is not None:
            answer = _answer_existing(existing, method, path, request_sha256)
            if answer.outcome is not Claim.in_progress:
                return answer
            stale = existing.taken_at is None or existing.taken_at < now - lease
            if not (stale or holder_gone(existing.holder)):
                return answer
            # Take the claim over from a crashed or stalled request. The holder in
            # the condition makes two retries racing for it take it once.
            result = session.exec(
                update(IdempotencyRecord)
                .where(
                    col(IdempotencyRecord.id) == existing.id,
                    col(IdempotencyRecord.completed_at).is_(None),
                    col(IdempotencyRecord.holder) == existing.holder
                    if existing.holder is not None
                    else col(IdempotencyRecord.holder).is_(None),
                )
                .values(holder=holder, taken_at=now)
            )
            session.commit()
            if result.rowcount == 1:
                return ClaimResult(Claim.claimed, record_id=existing.id, taken_over=True)
            session.expire_all()
            again = session.get(IdempotencyRecord, existing.id)
            if again is None:
                return ClaimResult(Claim.in_progress)
            return _answer_existing(again, method, path, request_sha256)
        record = IdempotencyRecord(
            scope=scope,
            key=key,
            method=method,
            path=path,
            request_sha256=request_sha256,
            holder=holder,
            taken_at=now,
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
        return ClaimResult(Claim.in_progress, record_id=record.id)
    if record.secret:
        return ClaimResult(Claim.secret, record_id=record.id, status_code=record.status_code)
    return ClaimResult(
        Claim.replay,
        record_id=record.id,
        status_code=record.status_code,
        content_type=record.content_type,
        body=record.body,
        headers={str(k): str(v) for k, v in (record.headers or {}).items()},
    )


def load(engine: Engine, record_id: uuid.UUID) -> IdempotencyRecord | None:
    with Session(engine) as session:
        return session.get(IdempotencyRecord, record_id)


@dataclass(frozen=True)
class Answer:
    status_code: int
    content_type: str | None
    headers: dict[str, str]
    body: bytes
    secret: bool


def storable(answer: Answer) -> bool:
    return answer.status_code < 500 and len(answer.body) <= MAX_STORED_BODY


def record_answer(session: Session, record_id: uuid.UUID, holder: str, answer: Answer) -> bool:
    """Writes the answer in the caller's transaction, if this process still holds the claim.

    False means the claim was taken over (or is gone): the caller must roll back.
    """
    values: dict[str, Any] = {
        "status_code": answer.status_code,
        "content_type": None if answer.secret else answer.content_type,
        "headers": None if answer.secret else _kept_headers(answer.headers),
        "body": None if answer.secret else answer.body,
        "secret": answer.secret,
        "completed_at": clock.now(),
        "holder": None,
    }
    result = session.exec(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.id) == record_id,
            col(IdempotencyRecord.holder) == holder,
            col(IdempotencyRecord.completed_at).is_(None),
        )
        .values(**values)
    )
    return result.rowcount == 1


def _kept_headers(headers: dict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in headers.items() if k.lower() in REPLAYED_HEADERS}


def complete(engine: Engine, record_id: uuid.UUID, holder: str, answer: Answer) -> bool:
    """The answer in its own transaction: for requests that changed nothing (4xx)."""
    with Session(engine) as session:
        if storable(answer):
            ok = record_answer(session, record_id, holder, answer)
        else:
            ok = _release(session, record_id, holder)
        session.commit()
        return ok


def _release(session: Session, record_id: uuid.UUID, holder: str) -> bool:
    result = session.exec(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.id) == record_id,
            col(IdempotencyRecord.holder) == holder,
            col(IdempotencyRecord.completed_at).is_(None),
        )
    )
    return bool(result.rowcount)


def release(engine: Engine, record_id: uuid.UUID, holder: str) -> None:
    with Session(engine) as session:
        _release(session, record_id, holder)
        session.commit()


def expire(session: Session) -> int:
    result = session.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < clock.now() - KEEP_FOR)
    )
    return int(result.rowcount or 0)
