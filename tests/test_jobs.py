"""The job table's own rules: deduplication, retries with backoff, dead letters, periodic jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.conftest import make_settings
from voicebridge import clock
from voicebridge.clock import FakeClock
from voicebridge.jobs import service
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.registry import HANDLERS, PERIODIC, JobContext, job_handler
from voicebridge.jobs.worker import Worker, ensure_periodic, request_kinds

CALLS: list[str] = []


def _flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
    CALLS.append(payload["tag"])
    raise RuntimeError("the network dropped")


def _tick(ctx: JobContext, payload: dict[str, Any]) -> None:
    CALLS.append("tick")
    if ctx.extras.get("fail_ticks"):
        raise RuntimeError("tick failed")


@pytest.fixture
def own_engine(committed_engine: Engine) -> Iterator[Engine]:
    """Workers commit in their own connections, so these tests get their own database."""
    engine = committed_engine
    fake = FakeClock(clock.now())
    clock.set_clock(fake)
    CALLS.clear()
    # Registered only for these tests, so no other test's worker ever runs them.
    job_handler("test.flaky")(_flaky)
    job_handler("test.tick", every=timedelta(minutes=5))(_tick)
    try:
        yield engine
    finally:
        for kind in ("test.flaky", "test.tick"):
            HANDLERS.pop(kind, None)
            PERIODIC.pop(kind, None)
        clock.set_clock(None)


def _worker(engine: Engine, tmp_path: Path, kinds: list[str], **extras: Any) -> Worker:
    ctx = JobContext(engine, make_settings(tmp_path), None, "w1", extras=dict(extras))
    return Worker(ctx, lease=timedelta(seconds=60), kinds=kinds)


def test_dedupe_key_makes_one_job(own_engine: Engine) -> None:
    with Session(own_engine) as session:
        a = service.enqueue(session, "test.flaky", {"tag": "a"}, dedupe_key="same")
        b = service.enqueue(session, "test.flaky", {"tag": "b"}, dedupe_key="same")
        session.commit()
        assert a.id == b.id
    with Session(own_engine) as other:
        c = service.enqueue(other, "test.flaky", {"tag": "c"}, dedupe_key="same")
        assert c.id == a.id


def test_failures_back_off_then_go_to_dead_letters(own_engine: Engine, tmp_path: Path) -> None:
    with Session(own_engine) as session:
        service.enqueue(session, "test.flaky", {"tag": "x"}, max_attempts=3)
        session.commit()
    worker = _worker(own_engine, tmp_path, ["test.flaky"])
    fake = clock._source
    assert isinstance(fake, FakeClock)
    assert worker.run_once()
    assert not worker.run_once(), "a failed job waits for its backoff"
    fake.advance(seconds=3)
    assert worker.run_once()
    fake.advance(seconds=5)
    assert worker.run_once()
    assert CALLS == ["x", "x", "x"]
    with Session(own_engine) as session:
        dead = service.dead_letters(session)
        assert [j.kind for j in dead] == ["test.flaky"]
        assert "network dropped" in (dead[0].last_error or "")
        retried = service.retry_dead(session, dead[0].id)
        session.commit()
        assert retried is not None
        assert retried.state is JobState.queued


def test_periodic_job_keeps_running_even_after_it_dies(own_engine: Engine, tmp_path: Path) -> None:
    assert PERIODIC["test.tick"] == timedelta(minutes=5)
    with Session(own_engine) as session:
        service.enqueue(session, "test.tick", {}, dedupe_key="periodic:test.tick", max_attempts=1)
        session.commit()
    worker = _worker(own_engine, tmp_path, ["test.tick"], fail_ticks=True)
    assert worker.run_once()
    fake = clock._source
    assert isinstance(fake, FakeClock)
    fake.advance(minutes=5, seconds=1)
    assert worker.run_once(), "the next run was scheduled although the last one died"
    with Session(own_engine) as session:
        jobs = sorted(session.exec(select(Job)).all(), key=lambda j: j.created_at)
    # The first run died; the next one ran, failed, and waits for its retry.
    assert [(j.state, j.attempts) for j in jobs] == [(JobState.dead, 1), (JobState.queued, 1)]
    assert CALLS == ["tick", "tick"]
    assert "test.tick" in HANDLERS


def test_api_processes_leave_maintenance_to_workers_in_production(
    committed_engine: Engine,
) -> None:
    """An API process's own worker in production seeds and runs no periodic job."""
    kinds = request_kinds()
    assert "audio.process" in kinds
    assert not set(kinds) & set(PERIODIC)
    ensure_periodic(committed_engine, kinds)
    with Session(committed_engine) as session:
        assert session.exec(select(Job)).all() == []
    ensure_periodic(committed_engine)
    with Session(committed_engine) as session:
        assert {job.kind for job in session.exec(select(Job)).all()} == set(PERIODIC)


def test_a_long_job_keeps_its_lease_while_it_runs_and_loses_it_when_its_holder_stops(
    own_engine: Engine, tmp_path: Path
) -> None:
    """A two-hour recording's transcode outlasts any fixed lease: the running worker
    renews it, so a second worker does not start the same job; once the holder is gone
    (here: its renewals stop with the job), the lease runs out and the job is free."""
    fake = clock._source
    assert isinstance(fake, FakeClock)
    lease = timedelta(seconds=0.3)
    other = Worker(
        JobContext(own_engine, make_settings(tmp_path), None, "w2"),
        lease=lease,
        kinds=["test.slow"],
    )
    seen: list[object] = []

    def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        # Longer than the lease, in the clock the lease is measured by.
        fake.advance(seconds=5)
        time.sleep(0.6)  # the holder's renewals run meanwhile (every 0.1 s)
        seen.append(service.claim(own_engine, "w2", lease, ["test.slow"]))

    job_handler("test.slow")(slow)
    try:
        with Session(own_engine) as session:
            service.enqueue(session, "test.slow", {})
            session.commit()
        holder = Worker(
            JobContext(own_engine, make_settings(tmp_path), None, "w1"),
            lease=lease,
            kinds=["test.slow"],
        )
        assert holder.run_once()
        assert seen == [None], "a second worker took a job whose holder was still running it"
        with Session(own_engine) as session:
            job = session.exec(select(Job)).one()
            assert (job.state, job.attempts) == (JobState.done, 1)
        # A holder that stops renewing (it died) loses the job when the lease runs out.
        with Session(own_engine) as session:
            service.enqueue(session, "test.slow", {})
            session.commit()
        taken = service.claim(own_engine, "w1", lease, ["test.slow"])
        assert taken is not None
        assert service.claim(own_engine, "w2", lease, ["test.slow"]) is None
        fake.advance(seconds=1)
        assert other.run_once(), "the lease of a holder that stopped renewing never ran out"
    finally:
        HANDLERS.pop("test.slow", None)
