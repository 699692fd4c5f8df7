"""Prometheus metrics: events counted where they happen, and state read at scrape time.

Two kinds, kept apart on purpose:

- **Events** (requests, upload bytes, transcodes, jobs finished, offers,
  escalations) are counters and histograms in the
  process where they happen. Several API processes behind one port write
  them to ``PROMETHEUS_MULTIPROC_DIR`` (``voicebridge serve --workers N``
  sets it up), so any process answering a scrape reports them all.
  Anything recorded inside a database transaction is recorded with
  :func:`on_commit`, so a rolled-back escalation never pages anyone.
- **State** (queue depth and age, dead letters, children waiting for help,
  dependency health) is read from the database when ``/metrics`` is
  scraped. Every API process reports the same global figure: aggregate it
  with ``max()``, never ``sum()``.

Notification deliveries are state of the second kind: worker processes that
serve no HTTP make them, so ``notifications/metrics.py`` reads them from the
outbox tables at scrape time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from voicebridge import __version__, clock
from voicebridge.help.models import EscalationLevel, Urgency

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds; API answers are expected in milliseconds, uploads and SSE streams in minutes.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120, 600)

HTTP_REQUESTS = Counter(
    "voicebridge_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "voicebridge_http_request_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
HTTP_UNHANDLED = Counter(
    "voicebridge_http_unhandled_errors",
    "Requests that ended in an unexpected exception (answered 500)",
    ["method", "route", "exception"],
    registry=REGISTRY,
)
LOAD_SHED = Counter(
    "voicebridge_http_shed",
    "Requests answered 503 because the process was overloaded (in_flight: over "
    "server.max_in_flight; db_pool: no database connection free in time)",
    ["reason"],
    registry=REGISTRY,
)
UPLOAD_BYTES = Counter(
    "voicebridge_upload_bytes",
    "Audio bytes received and counted (tus PATCH, creation-with-upload, single request)",
    ["purpose"],
    registry=REGISTRY,
)
UPLOADS_COMPLETED = Counter(
    "voicebridge_uploads_completed",
    "Uploads whose last byte arrived",
    ["purpose"],
    registry=REGISTRY,
)
TRANSCODE_REALTIME = Histogram(
    "voicebridge_transcode_realtime_factor",
    "Seconds of audio transcoded per second of wall time, per recording",
    buckets=(1, 2, 5, 10, 20, 50, 100, 150, 200, 300, 500),
    registry=REGISTRY,
)
TRANSCODE_AUDIO_SECONDS = Counter(
    "voicebridge_transcode_audio_seconds",
    "Seconds of audio transcoded (divide its rate by the wall-time rate for the fleet's factor)",
    registry=REGISTRY,
)
TRANSCODE_WALL_SECONDS = Counter(
    "voicebridge_transcode_wall_seconds",
    "Wall-clock seconds spent transcoding",
    registry=REGISTRY,
)
TRANSCODE_PROCESSES = Gauge(
    "voicebridge_transcode_processes",
    "Transcode child processes running now (at most jobs.transcode_processes per worker)",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
TRANSCODE_CRASHES = Counter(
    "voicebridge_transcode_crashes",
    "Transcode child processes that died before answering (the job is retried)",
    registry=REGISTRY,
)
JOBS_FINISHED = Counter(
    "voicebridge_jobs_finished",
    "Job runs by outcome: done, retry (failed, will run again) or dead (a dead letter)",
    ["kind", "outcome"],
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "voicebridge_job_seconds",
    "Job handler run time",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
    registry=REGISTRY,
)
TRANSCRIPTION_SECONDS = Histogram(
    "voicebridge_transcription_seconds",
    "Time to transcribe one recording, by what it is (help_request, help_message, family_message)",
    ["subject"],
    buckets=(0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)
HELP_FIRST_OFFER = Histogram(
    "voicebridge_help_time_to_first_offer_seconds",
    "From a child's help request to the first offer made to a psychologist",
    ["urgency"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600),
    registry=REGISTRY,
)
HELP_ESCALATIONS = Counter(
    "voicebridge_help_escalations",
    "Escalations: supervisors (T1) and the school's safeguarding contact (T2)",
    ["level", "urgency"],
    registry=REGISTRY,
)
LIVE_STREAMS = Gauge(
    "voicebridge_live_streams",
    "Server-sent event streams open now",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)

LIFECYCLE_DELETED = Counter(
    "voicebridge_lifecycle_deleted",
    "Data deleted by the lifecycle (retention, withdrawal, revocation, closure, erasure), "
    "by what it was: messages, objects, progress, help_cases, threads, stories, exports",
    ["reason", "kind"],
    registry=REGISTRY,
)


# Counters an alert watches with increase() start at zero: a series that is born
# at 1 has no earlier sample, and its first increase would go unseen.
for _level in EscalationLevel:
    for _urgency in Urgency:
        HELP_ESCALATIONS.labels(_level.value, _urgency.value)


def start_job_counters(kinds: Iterable[str]) -> None:
    """Zero series for every job kind, so the first dead letter of a kind is an increase."""
    for kind in kinds:
        for outcome in ("done", "retry", "dead"):
            JOBS_FINISHED.labels(kind, outcome)


def record_transcode(audio_seconds: float, wall_seconds: float) -> None:
    if audio_seconds <= 0 or wall_seconds <= 0:
        return
    TRANSCODE_AUDIO_SECONDS.inc(audio_seconds)
    TRANSCODE_WALL_SECONDS.inc(wall_seconds)
    TRANSCODE_REALTIME.observe(audio_seconds / wall_seconds)


# --- after-commit recording ---------------------------------------------------

_PENDING = "voicebridge.metrics.pending"


def on_commit(session: OrmSession, action: Callable[[], None]) -> None:
    """Runs ``action`` once the session's transaction commits; drops it on rollback."""
    session.info.setdefault(_PENDING, []).append(action)


@event.listens_for(OrmSession, "after_commit")
def _run_pending(session: OrmSession) -> None:
    for action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # noqa: BLE001 - a metric must never fail a committed change
            log.exception("recording a metric failed")


@event.listens_for(OrmSession, "after_transaction_end")
def _drop_pending(session: OrmSession, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without the commit hook taking them: rolled back.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# --- state read from the database at scrape time ------------------------------


class StateCollector(Collector):
    """Queue, help and dependency state, read at most once per ``ttl`` seconds.

    Every query runs on an index (``ix_jobs_claim``, ``ix_help_requests_queue``,
    ``audio_assets.state``), so a scrape costs a few milliseconds at any table size.
    """

    def __init__(self, engine: Engine, store: Any, ttl: float = 5.0) -> None:
        self.engine = engine
        self.store = store
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self.ttl:
                self._cached = (now, self._read())
            yield from self._cached[1]

    def _read(self) -> list[Metric]:
        info = GaugeMetricFamily(
            "voicebridge_build_info", "The running version", labels=["version"]
        )
        info.add_metric([__version__], 1)
        up = GaugeMetricFamily(
            "voicebridge_dependency_up",
            "Whether a dependency answered this process (1) or not (0); readiness",
            labels=["dependency"],
        )
        families: list[Metric] = [info, up]
        database_ok = True
        try:
            with Session(self.engine) as session:
                families.extend(_job_families(session, clock.now()))
                families.extend(_help_families(session, clock.now()))
                families.extend(_upload_families(session))
        except Exception as exc:  # noqa: BLE001 - an unreachable database is a reading, not a crash
            log.warning("metrics: database unavailable", extra={"error": type(exc).__name__})
            database_ok = False
        up.add_metric(["database"], 1 if database_ok else 0)
        try:
            self.store.check()
            up.add_metric(["object_store"], 1)
        except Exception:  # noqa: BLE001
            up.add_metric(["object_store"], 0)
        return families


def _seconds_since(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _job_families(session: Session, now: datetime) -> Iterable[Metric]:
    from voicebridge.jobs.models import Job, JobState
    from voicebridge.jobs.registry import HANDLERS
    from voicebridge.jobs.worker import load_handlers

    load_handlers()
    kinds = set(HANDLERS)
    due: dict[str, tuple[int, datetime | None]] = {}
    # Queued and due, or running on a lease that ran out (its worker died): both wait.
    for kind, count, first_due in session.exec(
        select(Job.kind, func.count(), func.min(Job.run_at))
        .where(Job.state == JobState.queued, col(Job.run_at) <= now)
        .group_by(col(Job.kind))
    ).all():
        due[kind] = (int(count), first_due)
    for kind, count, lease_end in session.exec(
        select(Job.kind, func.count(), func.min(Job.locked_until))
        .where(Job.state == JobState.running, col(Job.locked_until) < now)
        .group_by(col(Job.kind))
    ).all():
        before_count, before_oldest = due.get(kind, (0, None))
        firsts = [t for t in (before_oldest, lease_end) if t is not None]
        due[kind] = (before_count + int(count), min(firsts) if firsts else None)
    counts: dict[JobState, dict[str, int]] = {}
    for state in (JobState.running, JobState.dead):
        rows = session.exec(
            select(Job.kind, func.count()).where(Job.state == state).group_by(col(Job.kind))
        ).all()
        counts[state] = {kind: int(n) for kind, n in rows}
    scheduled = {
        kind: int(n)
        for kind, n in session.exec(
            select(Job.kind, func.count())
            .where(Job.state == JobState.queued, col(Job.run_at) > now)
            .group_by(col(Job.kind))
        ).all()
    }
    kinds |= set(due) | set(counts[JobState.dead]) | set(counts[JobState.running])
    depth = GaugeMetricFamily(
        "voicebridge_jobs_due", "Jobs due to run and not yet taken (queue depth)", labels=["kind"]
    )
    age = GaugeMetricFamily(
        "voicebridge_jobs_oldest_due_seconds",
        "How long the oldest due job has waited to be taken (0 when none)",
        labels=["kind"],
    )
    running = GaugeMetricFamily("voicebridge_jobs_running", "Jobs in hand", labels=["kind"])
    dead = GaugeMetricFamily(
        "voicebridge_jobs_dead", "Dead letters awaiting an operator", labels=["kind"]
    )
    later = GaugeMetricFamily(
        "voicebridge_jobs_scheduled", "Jobs and timers queued for later", labels=["kind"]
    )
    for kind in sorted(kinds):
        count, since = due.get(kind, (0, None))
        depth.add_metric([kind], count)
        age.add_metric([kind], _seconds_since(now, since))
        running.add_metric([kind], counts[JobState.running].get(kind, 0))
        dead.add_metric([kind], counts[JobState.dead].get(kind, 0))
        later.add_metric([kind], scheduled.get(kind, 0))
    return [depth, age, running, dead, later]


def _help_families(session: Session, now: datetime) -> Iterable[Metric]:
    from voicebridge.help.models import HelpRequest, RequestState

    rows = {
        urgency: (int(count), oldest)
        for urgency, count, oldest in session.exec(
            select(HelpRequest.urgency, func.count(), func.min(HelpRequest.created_at))
            .where(HelpRequest.state == RequestState.waiting)
            .group_by(col(HelpRequest.urgency))
        ).all()
    }
    waiting = GaugeMetricFamily(
        "voicebridge_help_requests_waiting",
        "Help requests no psychologist has accepted yet",
        labels=["urgency"],
    )
    oldest = GaugeMetricFamily(
        "voicebridge_help_requests_oldest_waiting_seconds",
        "How long the longest-waiting help request has waited (0 when none)",
        labels=["urgency"],
    )
    for urgency in Urgency:
        count, first = rows.get(urgency, (0, None))
        waiting.add_metric([urgency.value], count)
        oldest.add_metric([urgency.value], _seconds_since(now, first))
    return [waiting, oldest]


def _upload_families(session: Session) -> Iterable[Metric]:
    from voicebridge.audio.models import AssetState, AudioAsset
    from voicebridge.uploads.models import Upload

    open_uploads = session.exec(
        select(func.count()).select_from(Upload).where(col(Upload.completed_at).is_(None))
    ).one()
    processing = session.exec(
        select(func.count())
        .select_from(AudioAsset)
        .where(AudioAsset.state == AssetState.processing)
    ).one()
    uploads = GaugeMetricFamily("voicebridge_uploads_open", "Resumable uploads not yet finished")
    uploads.add_metric([], int(open_uploads))
    assets = GaugeMetricFamily(
        "voicebridge_audio_processing", "Recordings received and waiting for their transcode"
    )
    assets.add_metric([], int(processing))
    return [uploads, assets]


# --- exposition ---------------------------------------------------------------


def events_registry() -> CollectorRegistry:
    """This process's events, or every process's when they share a multiprocess directory."""
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    return REGISTRY


def exposition(*state: Collector) -> bytes:
    """The events, then the state collectors' readings, as one Prometheus text page."""
    body = generate_latest(events_registry())
    if state:
        registry = CollectorRegistry(auto_describe=False)
        for collector in state:
            registry.register(collector)
        body += generate_latest(registry)
    return body
