"""A recording on its way to being playable, shared by messages, help requests and stories.

Domains point at an asset; a listener can hear it only once ``state`` is
``ready``, which happens after the playable object is in the store and its
size and checksum were verified (design invariant 1).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class AssetState(StrEnum):
    uploading = "uploading"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class AudioAsset(SQLModel, table=True):
    __tablename__ = "audio_assets"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    # Which domain owns it: "message", "help", "story_chapter" ... (see uploads purposes).
    purpose: str = Field(max_length=40, index=True)
    state: AssetState = Field(
        default=AssetState.uploading, sa_type=enum_type(AssetState), index=True
    )
    failure_type: str | None = Field(default=None, max_length=60)
    failure_detail: str | None = Field(default=None, max_length=500)
    original_key: str | None = Field(default=None, max_length=200)
    original_size: int | None = None
    original_sha256: str | None = Field(default=None, max_length=64)
    original_content_type: str | None = Field(default=None, max_length=100)
    playable_key: str | None = Field(default=None, max_length=200)
    playable_size: int | None = None
    playable_sha256: str | None = Field(default=None, max_length=64)
    duration_ms: int | None = None
    peaks: list[float] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    loudness_lufs: float | None = None
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    ready_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
