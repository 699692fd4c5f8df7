"""Keeping the event table short: resumes need minutes of history, not months."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from voicebridge.jobs.registry import JobContext, job_handler
from voicebridge.live import service


@job_handler("live.purge_events", every=timedelta(minutes=10))
def purge_events(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine) as session:
        service.purge(session, timedelta(minutes=ctx.settings.live.retention_minutes))
        session.commit()
