"""Threads between a child and the adults allowed to reach them, and their voice messages.

A thread is either a family thread (one child, one verified guardian) or a
school thread (one child and the staff of the child's school). Who may use a
thread is decided on every request by ``auth.policy.is_thread_participant``, so
a revoked link or withdrawn consent closes a family thread without touching it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import text
from sqlmodel import Column, Field, Index, SQLModel, UniqueConstraint

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow

CAPTION_MAX = 200


class ThreadKind(StrEnum):
    family = "family"
    school = "school"


class MessageState(StrEnum):
    uploading = "uploading"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class Thread(SQLModel, table=True):
    __tablename__ = "threads"
    # peer_id is the guardian's user id (family) or the school's id (school): one
    # thread per pair, whichever side opens it first.
    # ix_threads_school_activity: a school's inbox, newest first, read straight off the index.
    __table_args__ = (
        UniqueConstraint("child_id", "peer_id"),
        Index("ix_threads_school_activity", "school_id", "activity_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: ThreadKind = Field(sa_type=enum_type(ThreadKind))
    child_id: uuid.UUID = Field(foreign_key="children.id", index=True, ondelete="CASCADE")
    guardian_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="CASCADE"
    )
    school_id: uuid.UUID | None = Field(
        default=None, foreign_key="schools.id", index=True, ondelete="CASCADE"
    )
    peer_id: uuid.UUID
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_message_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Inbox order: the last ready message, or the opening of an empty thread.
    activity_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    # ix_messages_ready_by_sender: the newest ready message a given person sent in a
    # thread (the quiet-children report), without visiting deleted or unfinished ones.
    __table_args__ = (
        Index("ix_messages_thread_created", "thread_id", "created_at"),
        Index(
            "ix_messages_ready_by_sender",
            "thread_id",
            "sender_id",
            "ready_at",
            postgresql_where=text("state = 'ready' AND deleted_at IS NULL"),
            sqlite_where=text("state = 'ready' AND deleted_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    thread_id: uuid.UUID = Field(foreign_key="threads.id", ondelete="CASCADE")
    sender_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    asset_id: uuid.UUID = Field(foreign_key="audio_assets.id", unique=True)
    caption: str | None = Field(default=None, max_length=CAPTION_MAX)
    state: MessageState = Field(default=MessageState.uploading, sa_type=enum_type(MessageState))
    failure_type: str | None = Field(default=None, max_length=60)
    failure_detail: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    ready_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Listen(SQLModel, table=True):
    """One listener's progress through one message; its existence marks the message read."""

    __tablename__ = "message_listens"
    __table_args__ = (UniqueConstraint("message_id", "listener_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    message_id: uuid.UUID = Field(foreign_key="messages.id", index=True, ondelete="CASCADE")
    listener_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    position_ms: int = 0
    # Disjoint, sorted [start_ms, end_ms] pairs; at most MAX_INTERVALS of them.
    heard: list[list[int]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    heard_ms: int = 0
    # The most recent play ids, so a report sent twice is not a second play.
    play_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    plays: int = 0
    first_heard_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_heard_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
