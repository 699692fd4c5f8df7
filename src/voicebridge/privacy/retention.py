"""The retention job: everything older than the period its consent allows is deleted.

- Family-thread messages (with their recordings and listening progress) follow
  the retention the guardian chose in their latest consent for that child.
- School-thread messages and story progress follow the shortest retention any of
  the child's guardians chose (``privacy.school_retention_days`` before anyone
  consented).
- Closed help cases follow ``privacy.safeguarding_retention_days`` (see its reason).
- Expired data exports are deleted.

Machine transcripts (``transcripts``) belong to their recording: its row's deletion
takes them along (foreign key, on delete cascade).

Each phase deletes in batches of ``privacy.retention_batch``, objects first and then
rows (``purge.py``). A run that goes on longer than ``privacy.retention_run_seconds``
stops and enqueues its continuation with the cursor in the payload, so a restart
or a lost worker resumes where it was; the hourly periodic run starts afresh.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlmodel import Session, col, select

from voicebridge import clock, metrics
from voicebridge.families.models import Consent
from voicebridge.help.models import HelpRequest, RequestState
from voicebridge.jobs import service as jobs
from voicebridge.jobs.registry import JobContext, job_handler
from voicebridge.messages.models import Message, Thread, ThreadKind
from voicebridge.privacy.models import DataExport, ExportState
from voicebridge.privacy.purge import Tally, purge_help_cases, purge_messages
from voicebridge.stories.models import ChapterProgress

log = logging.getLogger(__name__)

RETENTION_JOB = "privacy.retention"
PHASES = ("messages", "progress", "help_cases", "exports")


def _child_days(child_id: Any, default: int) -> ColumnElement[int]:
    """The shortest retention any guardian of the child chose and still stands by."""
    shortest = (
        select(func.min(Consent.retention_days))
        .where(Consent.child_id == child_id, col(Consent.withdrawn_at).is_(None))
        .scalar_subquery()
    )
    return func.coalesce(shortest, default)


def _thread_days(default: int) -> ColumnElement[int]:
    latest = (
        select(Consent.retention_days)
        .where(
            col(Consent.guardian_id) == col(Thread.guardian_id),
            col(Consent.child_id) == col(Thread.child_id),
        )
        .order_by(col(Consent.given_at).desc())
        .limit(1)
        .correlate(Thread)
        .scalar_subquery()
    )
    return case(
        (col(Thread.kind) == ThreadKind.family, func.coalesce(latest, default)),
        else_=_child_days(col(Thread.child_id), default),
    )


def _periods(session: Session, default: int) -> list[int]:
    """The few distinct retention periods in use; each is one indexed range query."""
    chosen = session.exec(select(Consent.retention_days).distinct()).all()
    return sorted({default, *chosen})


class _Run:
    def __init__(self, ctx: JobContext, cursor: dict[str, Any]) -> None:
        self.ctx = ctx
        self.cfg = ctx.settings.privacy
        self.now = clock.now()
        self.cursor = cursor
        self.tally = Tally()
        self.deadline = time.monotonic() + self.cfg.retention_run_seconds

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def messages(self) -> bool:
        default = self.cfg.school_retention_days
        with Session(self.ctx.engine) as session:
            periods = _periods(session, default)
        days_expr = _thread_days(default)
        start = int(self.cursor.get("days", 0))
        for days in (d for d in periods if d >= start):
            cutoff = self.now - timedelta(days=days)
            after = self.cursor.get("after") if days == start else None
            while True:
                stmt = (
                    select(Message.id, Message.created_at)
                    .join(Thread, col(Thread.id) == col(Message.thread_id))
                    .where(col(Message.created_at) < cutoff, days_expr == days)
                )
                if after is not None:
                    at, last = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
                    stmt = stmt.where(
                        or_(
                            col(Message.created_at) > at,
                            and_(col(Message.created_at) == at, col(Message.id) > last),
                        )
                    )
                stmt = stmt.order_by(col(Message.created_at), col(Message.id)).limit(
                    self.cfg.retention_batch
                )
                with Session(self.ctx.engine) as session:
                    rows = session.exec(stmt).all()
                if not rows:
                    break
                self.tally.update(
                    purge_messages(self.ctx.engine, self.ctx.store, [r[0] for r in rows])
                )
                after = [rows[-1][1].isoformat(), str(rows[-1][0])]
                if self.out_of_time():
                    self.cursor = {"phase": "messages", "days": days, "after": after}
                    return False
        return True

    def progress(self) -> bool:
        default = self.cfg.school_retention_days
        with Session(self.ctx.engine) as session:
            periods = _periods(session, default)
        for days in periods:
            cutoff = self.now - timedelta(days=days)
            while True:
                with Session(self.ctx.engine) as session:
                    keys = session.exec(
                        select(ChapterProgress.child_id, ChapterProgress.chapter_id)
                        .where(
                            col(ChapterProgress.updated_at) < cutoff,
                            _child_days(col(ChapterProgress.child_id), default) == days,
                        )
                        .limit(self.cfg.retention_batch)
                    ).all()
                    for child_id, chapter_id in keys:
                        row = session.get(ChapterProgress, (child_id, chapter_id))
                        if row is not None:
                            session.delete(row)
                    session.commit()
                self.tally["progress"] += len(keys)
                if len(keys) < self.cfg.retention_batch:
                    break
                if self.out_of_time():
                    self.cursor = {"phase": "progress"}
                    return False
        return True

    def help_cases(self) -> bool:
        cutoff = self.now - timedelta(days=self.cfg.safeguarding_retention_days)
        while True:
            with Session(self.ctx.engine) as session:
                ids = list(
                    session.exec(
                        select(HelpRequest.id)
                        .where(
                            HelpRequest.state == RequestState.closed,
                            col(HelpRequest.closed_at) < cutoff,
                        )
                        .order_by(col(HelpRequest.closed_at))
                        .limit(self.cfg.retention_batch)
                    ).all()
                )
            self.tally.update(purge_help_cases(self.ctx.engine, self.ctx.store, ids))
            if len(ids) < self.cfg.retention_batch:
                return True
            if self.out_of_time():
                self.cursor = {"phase": "help_cases"}
                return False

    def exports(self) -> bool:
        with Session(self.ctx.engine) as session:
            expired = session.exec(
                select(DataExport).where(
                    col(DataExport.expires_at) < self.now,
                    col(DataExport.state).in_([ExportState.ready, ExportState.queued]),
                )
            ).all()
            for export in expired:
                if export.object_key:
                    self.ctx.store.delete(export.object_key)
                    self.tally["objects"] += 1
                export.object_key = None
                export.state = ExportState.expired
                session.add(export)
                self.tally["exports"] += 1
            session.commit()
        return True


def record(reason: str, tally: Tally) -> None:
    for kind, count in tally.as_dict().items():
        metrics.LIFECYCLE_DELETED.labels(reason, kind).inc(count)


@job_handler(RETENTION_JOB, every=timedelta(hours=1))
def run_retention(ctx: JobContext, payload: dict[str, Any]) -> None:
    run = _Run(ctx, dict(payload.get("cursor") or {}))
    steps: dict[str, Callable[[], bool]] = {
        "messages": run.messages,
        "progress": run.progress,
        "help_cases": run.help_cases,
        "exports": run.exports,
    }
    first = str(run.cursor.get("phase", PHASES[0]))
    finished = True
    for phase in PHASES[PHASES.index(first) if first in PHASES else 0 :]:
        if phase != first:
            run.cursor = {}
        if not steps[phase]():
            finished = False
            break
    record("retention", run.tally)
    log.info(
        "retention run",
        extra={"deleted": run.tally.as_dict(), "finished": finished, "cursor": run.cursor},
    )
    if not finished:
        with Session(ctx.engine) as session:
            # No dedupe key: this run still holds it while running, and would find itself.
            jobs.enqueue(session, RETENTION_JOB, {"cursor": run.cursor})
            session.commit()
