"""Enqueueing, claiming and finishing jobs.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that any number of
workers on any number of machines take distinct jobs; on SQLite, whose writers
are serialised anyway, a conditional UPDATE does the same. A claim is a lease:
if the worker dies, the lease runs out and another worker takes the job again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.jobs.models import Job, JobState


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
    priority: int = 0,
) -> Job:
    """Adds a job to the caller's transaction: it exists only if that transaction commits.

    With a ``dedupe_key`` the job is one job however often it is enqueued while
    pending; two transactions racing to enqueue it both end up with the same row.
    """

    def make() -> Job:
        return Job(
            kind=kind,
            payload=payload or {},
            run_at=run_at or clock.now(),
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            priority=priority,
        )

    if dedupe_key is None:
        job = make()
        session.add(job)
        session.flush()
        return job
    for _ in range(3):
        existing = session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return existing
        try:
            # The job is added inside the savepoint, so a losing race rolls it
            # out of the session too and the next look-up does not re-insert it.
            with session.begin_nested():
                job = make()
                session.add(job)
                session.flush()
            return job
        except IntegrityError:
            continue  # another transaction enqueued it first; read theirs
    raise RuntimeError(f"could not enqueue deduplicated job {dedupe_key!r}")


def cancel(session: Session, dedupe_key: str) -> bool:
    """Cancels a pending (not yet running) job, e.g. a timer whose reason went away."""
    job = session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()
    if job is None or job.state is not JobState.queued:
        return False
    job.state = JobState.done
    job.finished_at = clock.now()
    job.last_error = "cancelled"
    job.dedupe_key = None
    session.add(job)
    session.flush()
    return True


def claim(engine: Engine, worker_id: str, lease: timedelta, kinds: list[str]) -> Job | None:
    now = clock.now()
    with Session(engine, expire_on_commit=False) as session:
        due = or_(
            (col(Job.state) == JobState.queued) & (col(Job.run_at) <= now),
            (col(Job.state) == JobState.running) & (col(Job.locked_until) < now),
        )
        stmt = (
            select(Job)
            .where(due, col(Job.kind).in_(kinds))
            .order_by(col(Job.priority).desc(), col(Job.run_at))
            .limit(1)
        )
        if engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        job = session.exec(stmt).first()
        if job is None:
            return None
        result = session.exec(
            update(Job)
            .where(
                col(Job.id) == job.id,
                col(Job.state) == job.state,
                col(Job.attempts) == job.attempts,
            )
            .values(
                state=JobState.running,
                locked_by=worker_id,
                locked_until=now + lease,
                attempts=job.attempts + 1,
            )
        )
        if result.rowcount != 1:
            session.rollback()
            return None
        session.commit()
        session.refresh(job)
        return job


def renew(engine: Engine, job: Job, worker_id: str, lease: timedelta) -> bool:
    """Extends the lease of a job still being run by its holder; False once it is lost.

    A transcode of a two-hour recording can outlast any fixed lease; renewing it while
    the holder is alive keeps a second worker from running the job again, and a holder
    that dies stops renewing, so its job is taken over when the lease runs out.
    """
    with Session(engine) as session:
        result = session.exec(
            update(Job)
            .where(
                col(Job.id) == job.id,
                col(Job.locked_by) == worker_id,
                col(Job.attempts) == job.attempts,
                col(Job.state) == JobState.running,
            )
            .values(locked_until=clock.now() + lease)
        )
        session.commit()
        return bool(result.rowcount == 1)


def _finish(engine: Engine, job: Job, worker_id: str, **values: Any) -> None:
    with Session(engine) as session:
        # Only the lease holder may finish; a worker whose lease ran out lost the job.
        session.exec(
            update(Job)
            .where(
                col(Job.id) == job.id,
                col(Job.locked_by) == worker_id,
                col(Job.attempts) == job.attempts,
                col(Job.state) == JobState.running,
            )
            .values(locked_by=None, locked_until=None, **values)
        )
        session.commit()


def succeed(engine: Engine, job: Job, worker_id: str) -> None:
    _finish(engine, job, worker_id, state=JobState.done, finished_at=clock.now(), dedupe_key=None)


def fail(
    engine: Engine, job: Job, worker_id: str, error: str, *, permanent: bool = False
) -> JobState:
    """Queues the job again with backoff, or makes it a dead letter; returns which."""
    if permanent or job.attempts >= job.max_attempts:
        _finish(
            engine,
            job,
            worker_id,
            state=JobState.dead,
            finished_at=clock.now(),
            last_error=error[:2000],
            dedupe_key=None,
        )
        return JobState.dead
    backoff = timedelta(seconds=min(2**job.attempts, 3600))
    _finish(
        engine,
        job,
        worker_id,
        state=JobState.queued,
        run_at=clock.now() + backoff,
        last_error=error[:2000],
    )
    return JobState.queued


def reschedule(engine: Engine, job: Job, worker_id: str, run_at: datetime) -> None:
    """Puts a job back for later without spending one of its attempts."""
    _finish(engine, job, worker_id, state=JobState.queued, run_at=run_at, attempts=job.attempts - 1)


def dead_letters(session: Session, limit: int = 100) -> list[Job]:
    return list(
        session.exec(
            select(Job)
            .where(Job.state == JobState.dead)
            .order_by(col(Job.finished_at).desc())
            .limit(limit)
        ).all()
    )


def retry_dead(session: Session, job_id: uuid.UUID) -> Job | None:
    job = session.get(Job, job_id)
    if job is None or job.state is not JobState.dead:
        return None
    job.state = JobState.queued
    job.attempts = 0
    job.run_at = clock.now()
    job.finished_at = None
    session.add(job)
    session.flush()
    return job
