"""Keeping the job table the size of the work in flight, not of all work ever done.

Every message makes several jobs; kept forever, finished ones would make
``jobs`` the largest table (deploy/CAPACITY.md). Done jobs go after
``jobs.keep_done_days``; dead letters stay until an operator acts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.registry import JobContext, job_handler

BATCH = 5000


@job_handler("jobs.purge_finished", every=timedelta(hours=1))
def purge_finished(ctx: JobContext, payload: dict[str, Any]) -> None:
    cutoff = clock.now() - timedelta(days=ctx.settings.jobs.keep_done_days)
    while True:
        with Session(ctx.engine) as session:
            ids = session.exec(
                select(Job.id)
                .where(Job.state == JobState.done, col(Job.finished_at) < cutoff)
                .limit(BATCH)
            ).all()
            if not ids:
                return
            session.exec(delete(Job).where(col(Job.id).in_(ids)))
            session.commit()
        if len(ids) < BATCH:
            return
