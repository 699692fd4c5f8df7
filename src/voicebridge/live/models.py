"""The event table: a short, bounded history that a reconnecting stream resumes from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer
from sqlmodel import Column, Field, Index, SQLModel

from voicebridge.db import JSONType, UTCDateTime, utcnow

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class LiveEvent(SQLModel, table=True):
    """One event for one person. ``data`` holds ids only, never anyone's words.

    Rows older than ``live.retention_minutes`` are purged; a client whose
    ``Last-Event-ID`` is older than that is told to fetch everything again.
    """

    __tablename__ = "live_events"
    __table_args__ = (Index("ix_live_events_user_id_id", "user_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(EventId, primary_key=True, autoincrement=True)
    )
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(max_length=60)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
