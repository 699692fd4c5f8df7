"""Stories, their chapters, narrators, story boxes, box versions and listening progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel, UniqueConstraint

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class Verification(StrEnum):
    pending = "pending"
    verified = "verified"
    refused = "refused"


class Visibility(StrEnum):
    private = "private"
    public = "public"


class StoryStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    published = "published"


class ChapterState(StrEnum):
    processing = "processing"
    ready = "ready"
    failed = "failed"


class BoxChangeAction(StrEnum):
    added = "added"
    updated = "updated"
    removed = "removed"


class NarratorProfile(SQLModel, table=True):
    """A volunteer or NGO reader; only a moderator moves ``state`` to verified."""

    __tablename__ = "narrator_profiles"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    display_name: str = Field(max_length=120)
    bio: str = Field(default="", max_length=2000)
    state: Verification = Field(default=Verification.pending, sa_type=enum_type(Verification))
    verified_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Series(SQLModel, table=True):
    __tablename__ = "story_series"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    title: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Story(SQLModel, table=True):
    __tablename__ = "stories"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    narrator_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    series_id: uuid.UUID | None = Field(default=None, foreign_key="story_series.id", index=True)
    series_position: int | None = None
    visibility: Visibility = Field(sa_type=enum_type(Visibility))
    status: StoryStatus = Field(
        default=StoryStatus.draft, sa_type=enum_type(StoryStatus), index=True
    )
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    language: str = Field(default="zh", max_length=40)
    age_min: int = 3
    age_max: int = 15
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Private stories: when the child may first hear it (UTC; given in the school's zone).
    available_from: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    rejection_reason: str | None = Field(default=None, max_length=1000)
    reviewed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class StoryAudience(SQLModel, table=True):
    """The children a private story is for; each one a child of the narrating guardian."""

    __tablename__ = "story_audience"

    story_id: uuid.UUID = Field(foreign_key="stories.id", primary_key=True, ondelete="CASCADE")
    child_id: uuid.UUID = Field(foreign_key="children.id", primary_key=True, ondelete="CASCADE")


class Chapter(SQLModel, table=True):
    __tablename__ = "story_chapters"
    __table_args__ = (UniqueConstraint("story_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    story_id: uuid.UUID = Field(foreign_key="stories.id", index=True, ondelete="CASCADE")
    number: int
    title: str = Field(max_length=200)
    asset_id: uuid.UUID = Field(foreign_key="audio_assets.id", unique=True)
    state: ChapterState = Field(default=ChapterState.processing, sa_type=enum_type(ChapterState))
    # A private story's chapter reaches its children from this time on (UTC; the guardian
    # picks it on the school's clock, usually bedtime). Empty: as soon as it is ready.
    release_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class StoryBox(SQLModel, table=True):
    __tablename__ = "story_boxes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    # Bumped on every change to the box's contents; offline bundles and device sync key on it.
    version: int = 0
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class StoryBoxEntry(SQLModel, table=True):
    __tablename__ = "story_box_entries"

    box_id: uuid.UUID = Field(foreign_key="story_boxes.id", primary_key=True, ondelete="CASCADE")
    story_id: uuid.UUID = Field(foreign_key="stories.id", primary_key=True, ondelete="CASCADE")
    position: int = 0


class StoryBoxChange(SQLModel, table=True):
    """The box's change log: what each version added, changed or removed, with the
    playable hashes it brought, so ``--since N`` knows which files a device lacks."""

    __tablename__ = "story_box_changes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    box_id: uuid.UUID = Field(foreign_key="story_boxes.id", index=True, ondelete="CASCADE")
    version: int
    story_id: uuid.UUID = Field(foreign_key="stories.id", ondelete="CASCADE")
    action: BoxChangeAction = Field(sa_type=enum_type(BoxChangeAction))
    hashes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class StoryBoxAssignment(SQLModel, table=True):
    """A box given to a whole school (``class_id`` empty) or to one class of it."""

    __tablename__ = "story_box_assignments"
    __table_args__ = (UniqueConstraint("box_id", "school_id", "class_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    box_id: uuid.UUID = Field(foreign_key="story_boxes.id", index=True, ondelete="CASCADE")
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    class_id: uuid.UUID | None = Field(
        default=None, foreign_key="school_classes.id", index=True, ondelete="CASCADE"
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ChapterProgress(SQLModel, table=True):
    __tablename__ = "story_chapter_progress"

    child_id: uuid.UUID = Field(foreign_key="children.id", primary_key=True, ondelete="CASCADE")
    chapter_id: uuid.UUID = Field(
        foreign_key="story_chapters.id", primary_key=True, ondelete="CASCADE"
    )
    story_id: uuid.UUID = Field(foreign_key="stories.id", index=True, ondelete="CASCADE")
    position_ms: int = 0
    # Sorted, disjoint [start_ms, end_ms] pairs the child has heard.
    heard: list[list[int]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    finished: bool = False
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ImportedFile(SQLModel, table=True):
    """What a bulk import already took in, so a rerun after an interruption skips it."""

    __tablename__ = "story_imported_files"
    __table_args__ = (UniqueConstraint("path", "sha256"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    path: str = Field(max_length=1000)
    sha256: str = Field(max_length=64)
    chapter_id: uuid.UUID = Field(foreign_key="story_chapters.id", ondelete="CASCADE")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
