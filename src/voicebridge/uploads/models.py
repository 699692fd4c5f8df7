"""A tus upload in progress: where its bytes are and how many arrived.

The offset lives here, not in a process, so any API process can continue an
upload another one began (as long as it sees the same spool; see ``spool.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, text
from sqlmodel import Column, Field, Index, SQLModel

from voicebridge.db import JSONType, UTCDateTime, new_id, utcnow


class Upload(SQLModel, table=True):
    __tablename__ = "uploads"
    # Finished uploads stay (a client may still HEAD them); expiry and the metrics
    # look only at open ones, a few hundred rows however many millions finished.
    __table_args__ = (
        Index(
            "ix_uploads_open",
            "expires_at",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    asset_id: uuid.UUID = Field(foreign_key="audio_assets.id", index=True)
    purpose: str = Field(max_length=40)
    # The client's Upload-Metadata, decoded; purposes read their keys from it.
    meta: dict[str, str] = Field(
        default_factory=dict, sa_column=Column("metadata", JSONType, nullable=False)
    )
    length: int = Field(sa_type=BigInteger)
    # Bytes durably received: in completed parts plus the fsync'd spool tail.
    offset: int = Field(default=0, sa_type=BigInteger)
    object_key: str = Field(max_length=200)
    multipart_id: str = Field(max_length=200)
    # [{"number": 1, "etag": "...", "size": 8388608}, ...]
    parts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The request writing this upload now, in any API process, and until when its claim
    # holds if it stops renewing it (a killed process); see ``service.claim_writer``.
    writer: str | None = Field(default=None, max_length=64)
    writer_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    @property
    def parts_bytes(self) -> int:
        return sum(int(p["size"]) for p in self.parts)
