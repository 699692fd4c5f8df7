"""How a transcript is shown: always labelled machine-made, always beside the recording."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from voicebridge.transcripts.models import Transcript
from voicebridge.transcripts.store import LABEL


class TranscriptSegment(BaseModel):
    start_ms: int
    end_ms: int
    text: str


class TranscriptPublic(BaseModel):
    machine_made: bool = Field(description="Made by speech recognition, not by a person")
    label: str = Field(description="Say this wherever the transcript is shown")
    text: str
    segments: list[TranscriptSegment]
    engine: str
    created_at: datetime

    @classmethod
    def of(cls, row: Transcript | None) -> TranscriptPublic | None:
        if row is None:
            return None
        return cls(
            machine_made=row.machine_made,
            label=LABEL,
            text=row.text,
            segments=[TranscriptSegment.model_validate(s) for s in row.segments],
            engine=row.engine,
            created_at=row.created_at,
        )
