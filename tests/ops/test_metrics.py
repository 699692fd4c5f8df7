"""The metrics an operator is paged on: read from real rows, recorded only on commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import make_settings
from tests.factories import Factory
from voicebridge import clock, metrics
from voicebridge.help import escalation
from voicebridge.help.models import Category, EscalationLevel, HelpRequest, Urgency
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.probe import serve
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker
from voicebridge.storage.local import LocalObjectStore


def _read(collector: metrics.StateCollector) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (family.name, tuple(sample.labels.values())): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "objects")
    store.ensure_ready()
    return store


def test_queue_help_and_dependency_state_come_from_the_rows(
    committed_engine: Engine, store: LocalObjectStore, tmp_path: Path
) -> None:
    now = clock.now()
    with Session(committed_engine) as session:
        factory = Factory(session, make_settings(tmp_path))
        school = factory.school()
        child = factory.child(school)
        session.add_all(
            [
                Job(kind="audio.process", run_at=now - timedelta(seconds=40)),
                Job(kind="audio.process", run_at=now - timedelta(seconds=10)),
                Job(kind="audio.process", run_at=now + timedelta(hours=1)),
                Job(kind="help.escalate", state=JobState.dead, finished_at=now),
                # A worker died holding this one: its lease ran out 90 s ago.
                Job(
                    kind="help.offer_expire",
                    state=JobState.running,
                    locked_by="gone",
                    locked_until=now - timedelta(seconds=90),
                ),
                HelpRequest(
                    child_id=child.id,
                    school_id=school.id,
                    category=Category.lonely,
                    urgency=Urgency.critical,
                    created_at=now - timedelta(seconds=75),
                ),
            ]
        )
        session.commit()
    seen = _read(metrics.StateCollector(committed_engine, store, ttl=0))
    assert seen[("voicebridge_jobs_due", ("audio.process",))] == 2
    assert seen[("voicebridge_jobs_oldest_due_seconds", ("audio.process",))] == pytest.approx(
        40, abs=5
    )
    assert seen[("voicebridge_jobs_scheduled", ("audio.process",))] == 1
    assert seen[("voicebridge_jobs_dead", ("help.escalate",))] == 1
    assert seen[("voicebridge_jobs_due", ("help.offer_expire",))] == 1
    assert seen[("voicebridge_jobs_oldest_due_seconds", ("help.offer_expire",))] >= 85
    # Every registered kind is reported, so alerts and the autoscaler always have a series.
    assert seen[("voicebridge_jobs_due", ("uploads.expire",))] == 0
    assert seen[("voicebridge_help_requests_waiting", ("critical",))] == 1
    assert seen[("voicebridge_help_requests_oldest_waiting_seconds", ("critical",))] >= 70
    assert seen[("voicebridge_help_requests_waiting", ("low",))] == 0
    assert seen[("voicebridge_dependency_up", ("database",))] == 1
    assert seen[("voicebridge_dependency_up", ("object_store",))] == 1


def test_an_unreachable_database_reads_as_down_not_as_an_error(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    from voicebridge.db import make_engine

    engine = make_engine(
        "postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    seen = _read(metrics.StateCollector(engine, store, ttl=0))
    assert seen[("voicebridge_dependency_up", ("database",))] == 0
    assert seen[("voicebridge_dependency_up", ("object_store",))] == 1
    engine.dispose()


def _escalations(level: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "voicebridge_help_escalations_total", {"level": level, "urgency": "critical"}
    )
    return value or 0.0


def test_an_escalation_counts_only_when_its_transaction_commits(
    committed_engine: Engine, tmp_path: Path
) -> None:
    with Session(committed_engine) as session:
        factory = Factory(session, make_settings(tmp_path))
        school = factory.school()
        child = factory.child(school)
        request = HelpRequest(
            child_id=child.id,
            school_id=school.id,
            category=Category.other,
            urgency=Urgency.critical,
        )
        session.add(request)
        session.commit()
        before = _escalations("safeguarding")
        escalation.escalate(session, request, EscalationLevel.safeguarding, "test")
        session.rollback()
        assert _escalations("safeguarding") == before
        escalation.escalate(session, request, EscalationLevel.safeguarding, "test")
        assert _escalations("safeguarding") == before
        session.commit()
        assert _escalations("safeguarding") == before + 1


@pytest.fixture
def probe_worker(committed_engine: Engine, tmp_path: Path) -> Iterator[tuple[Worker, str]]:
    settings = make_settings(tmp_path)
    worker = Worker(
        JobContext(committed_engine, settings, None, "probe-test"), lease=timedelta(seconds=30)
    )
    server = serve(worker, "127.0.0.1", 0, stale_after=60)
    try:
        yield worker, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("committed_url", ["sqlite"], indirect=True)
def test_a_worker_probe_reports_health_and_metrics(probe_worker: tuple[Worker, str]) -> None:
    worker, base = probe_worker
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert "voicebridge_jobs_finished_total" in httpx.get(f"{base}/metrics").text
    assert httpx.get(f"{base}/other").status_code == 404
    # A loop that has not come round for longer than allowed is stuck.
    worker.heartbeat -= 120
    stuck = httpx.get(f"{base}/healthz")
    assert stuck.status_code == 503
    assert stuck.json()["status"] == "stuck"
