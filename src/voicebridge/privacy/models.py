"""The audit trail, scheduled erasures and guardians' data exports."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, Index, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only: rows are only inserted (PostgreSQL refuses UPDATE and DELETE by trigger).

    ``hash`` covers the row's fields and the previous row's hash, so changing or
    removing any row breaks every hash after it (`voicebridge audit verify`).
    Ids and reasons only, never a child's words: the trail outlives erasures.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_at", "actor_id", "at"),
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
    )

    # Set under a lock to the previous row's seq + 1: the chain has no gaps to explain.
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    # No foreign keys: an erased account's actions stay provable.
    actor_id: uuid.UUID | None = None
    actor_role: str = Field(max_length=30)
    action: str = Field(max_length=40, index=True)
    subject_type: str = Field(max_length=40)
    subject_id: uuid.UUID | None = None
    school_id: uuid.UUID | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class ErasureScope(StrEnum):
    link = "link"  # one guardian's thread with one child
    child = "child"  # everything of a child who left the school
    account = "account"  # a guardian's whole account


class Erasure(SQLModel, table=True):
    """A deletion promised for ``due_at``; the person concerned is shown that date."""

    __tablename__ = "erasures"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    scope: ErasureScope = Field(sa_type=enum_type(ErasureScope))
    # The link, child or user id; no foreign key, the row outlives what it erased.
    subject_id: uuid.UUID = Field(index=True)
    reason: str = Field(max_length=40)
    requested_by: uuid.UUID | None = None
    requested_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class ExportState(StrEnum):
    queued = "queued"
    ready = "ready"
    failed = "failed"
    expired = "expired"


class DataExport(SQLModel, table=True):
    __tablename__ = "data_exports"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    guardian_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    state: ExportState = Field(default=ExportState.queued, sa_type=enum_type(ExportState))
    object_key: str | None = Field(default=None, max_length=200)
    size: int | None = Field(default=None, sa_type=BigInteger)
    sha256: str | None = Field(default=None, max_length=64)
    messages: int = 0
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    ready_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
