"""Dead letters: jobs that failed for good, for an administrator to inspect and retry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from voicebridge.auth.deps import AdminPrincipal
from voicebridge.db import SessionDep
from voicebridge.errors import NotFound
from voicebridge.jobs import service
from voicebridge.jobs.models import JobState

router = APIRouter(prefix="/admin/jobs", tags=["admin"])


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@router.get("/dead")
def list_dead(session: SessionDep, _admin: AdminPrincipal) -> list[JobPublic]:
    return [JobPublic.model_validate(job) for job in service.dead_letters(session)]


@router.post("/{job_id}/retry")
def retry(job_id: uuid.UUID, session: SessionDep, _admin: AdminPrincipal) -> JobPublic:
    job = service.retry_dead(session, job_id)
    if job is None:
        raise NotFound("No such dead job")
    return JobPublic.model_validate(job)
