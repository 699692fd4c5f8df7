"""Responses remembered under a client's ``Idempotency-Key``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from voicebridge.db import JSONType, UTCDateTime, new_id, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # Who sent it: the signed-in user, the school device, or "anonymous".
    scope: str = Field(max_length=80)
    key: str = Field(max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    request_sha256: str = Field(max_length=64)
    status_code: int | None = None
    content_type: str | None = Field(default=None, max_length=100)
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # The protocol headers of the answer (Location, tus headers, Asset-Id...).
    headers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    # The answer carried a credential or a code: only this marker is kept, never the body.
    secret: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The live request that holds an unfinished claim ("host:pid:start"), and since when.
    holder: str | None = Field(default=None, max_length=200)
    taken_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
