"""Request and response shapes for threads, messages, progress and receipts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from voicebridge.messages.models import MessageState, ThreadKind
from voicebridge.transcripts.schemas import TranscriptPublic

MAX_SEGMENTS_PER_REPORT = 500


class ThreadOpen(BaseModel):
    """Only a child names the guardian; guardians and staff open their own thread."""

    guardian_id: uuid.UUID | None = None


class ThreadPublic(BaseModel):
    id: uuid.UUID
    kind: ThreadKind
    child_id: uuid.UUID
    child_name: str
    guardian_id: uuid.UUID | None
    school_id: uuid.UUID | None
    # The other side as the child sees it: the guardian's name or the school's.
    peer_name: str
    unread: int
    last_message_at: datetime | None
    created_at: datetime


class ThreadPage(BaseModel):
    items: list[ThreadPublic]
    next_cursor: str | None


class MessagePublic(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    sender_id: uuid.UUID
    sender_name: str
    caption: str | None
    state: MessageState
    # Shown only to the sender, from the asset's failure, e.g. "not-audio".
    failure_type: str | None = None
    failure_detail: str | None = None
    # Shown only to the sender: the upload's Asset-Id header, so an app's outbox
    # can tell which of its uploads became this message.
    asset_id: uuid.UUID | None = None
    duration_ms: int | None
    created_at: datetime
    ready_at: datetime | None
    # The caller's own resume point and whether they have heard it at all.
    position_ms: int = 0
    heard: bool = False
    # Only where the guardian consented to transcripts; labelled machine-made.
    transcript: TranscriptPublic | None = None


class MessageDetail(MessagePublic):
    peaks: list[float]


class MessagePage(BaseModel):
    items: list[MessagePublic]
    next_cursor: str | None


class Segment(BaseModel):
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    at: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Segment:
        if self.end_ms < self.start_ms:
            raise ValueError("end_ms must not be before start_ms")
        if self.at.tzinfo is None:
            raise ValueError("at needs a time zone")
        return self


class ProgressReport(BaseModel):
    """What a player sends, possibly long after and out of order.

    ``play_id`` is made by the client each time the listener presses play; the
    server counts distinct play ids, so re-sending a report never adds a play.
    """

    play_id: str = Field(min_length=1, max_length=64)
    position_ms: int = Field(ge=0)
    segments: list[Segment] = Field(default_factory=list, max_length=MAX_SEGMENTS_PER_REPORT)


class ProgressPublic(BaseModel):
    message_id: uuid.UUID
    position_ms: int
    heard_ms: int
    duration_ms: int
    plays: int
    completed: bool
    heard: list[list[int]]


class ListenerReceipt(BaseModel):
    listener_id: uuid.UUID
    listener_name: str
    heard_ms: int
    plays: int
    completed: bool
    first_heard_at: datetime | None
    last_heard_at: datetime | None


class Receipt(BaseModel):
    """ "Heard 12:30 of 15:00, twice": the furthest any listener got, all their plays."""

    message_id: uuid.UUID
    heard_ms: int
    duration_ms: int
    plays: int
    first_heard_at: datetime | None
    last_heard_at: datetime | None
    completed: bool
    listeners: list[ListenerReceipt]


class QuietChild(BaseModel):
    child_id: uuid.UUID
    given_name: str
    family_name: str
    class_id: uuid.UUID
    class_name: str
    active_guardians: int
    last_family_message_at: datetime | None
    # Whole days since that message; None when the family never sent one.
    days_quiet: int | None
