"""The durable job table: work that must follow a change, enqueued in its transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlmodel import Column, Field, Index, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "run_at"),
        # The hourly purge of finished jobs reads only these.
        Index(
            "ix_jobs_done",
            "finished_at",
            postgresql_where=text("state = 'done'"),
            sqlite_where=text("state = 'done'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=60, index=True)
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    state: JobState = Field(default=JobState.queued, sa_type=enum_type(JobState))
    # Jobs with the same key are one job: enqueueing it again while it is pending is a no-op.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    run_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # Higher runs first among due jobs (a child's spoken help request before a family message).
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 8
    locked_by: str | None = Field(default=None, max_length=120)
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
