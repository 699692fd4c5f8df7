"""Forgetting idempotency keys after a day, and throttle counters nobody reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from voicebridge.auth import throttle
from voicebridge.idempotency import service
from voicebridge.jobs.registry import JobContext, job_handler


@job_handler("idempotency.expire", every=timedelta(hours=1))
def expire_keys(ctx: JobContext, payload: dict[str, Any]) -> None:
    with Session(ctx.engine) as session:
        service.expire(session)
        throttle.expire(session, timedelta(days=2))
        session.commit()
