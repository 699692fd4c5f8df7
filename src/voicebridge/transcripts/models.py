"""Machine-made transcripts of recordings, one per audio asset, deleted with it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Text
from sqlmodel import Column, Field, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class Subject(StrEnum):
    """What the recording is: decides priority, consent and what follows the transcript."""

    help_request = "help_request"
    help_message = "help_message"
    family_message = "family_message"


class Transcript(SQLModel, table=True):
    __tablename__ = "transcripts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    asset_id: uuid.UUID = Field(foreign_key="audio_assets.id", unique=True, ondelete="CASCADE")
    subject: Subject = Field(sa_type=enum_type(Subject))
    # Simplified Chinese, as triage and readers get it.
    text: str = Field(sa_column=Column(Text, nullable=False))
    # [{"start_ms": int, "end_ms": int, "text": str}]
    segments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    # Always true today; a person's correction would be the other kind.
    machine_made: bool = True
    engine: str = Field(max_length=120)
    audio_seconds: float = 0.0
    processing_seconds: float = 0.0
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
