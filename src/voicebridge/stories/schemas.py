"""Request and response models. No request model carries a ``status``: moderation moves it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voicebridge.schools.schemas import ListeningWindow
from voicebridge.stories.models import ChapterState, StoryStatus, Verification, Visibility


class NarratorApply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(min_length=1, max_length=120)
    bio: str = Field(default="", max_length=2000)


class NarratorVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verified: bool


class NarratorPublic(BaseModel):
    user_id: uuid.UUID
    display_name: str
    state: Verification


class SeriesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)


class SeriesPublic(BaseModel):
    id: uuid.UUID
    title: str


class StoryCreate(BaseModel):
    # extra="forbid": a body with "status" is refused, not silently obeyed.
    model_config = ConfigDict(extra="forbid")
    visibility: Visibility
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    language: str = Field(default="zh", min_length=1, max_length=40)
    age_min: int = Field(default=3, ge=0, le=18)
    age_max: int = Field(default=15, ge=0, le=18)
    tags: list[str] = Field(default_factory=list, max_length=20)
    child_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    available_from_local: datetime | None = Field(
        default=None, description="Local time in the child's school's timezone, no offset"
    )
    series_id: uuid.UUID | None = None
    series_position: int | None = Field(default=None, ge=1, le=10_000)


class StoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    language: str | None = Field(default=None, min_length=1, max_length=40)
    age_min: int | None = Field(default=None, ge=0, le=18)
    age_max: int | None = Field(default=None, ge=0, le=18)
    tags: list[str] | None = Field(default=None, max_length=20)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=1000)


class ChapterPublic(BaseModel):
    id: uuid.UUID
    number: int
    title: str
    duration_ms: int | None
    peaks: list[float]


class ProgressPublic(BaseModel):
    chapter_id: uuid.UUID
    position_ms: int
    finished: bool


class StoryPublic(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    language: str
    age_min: int
    age_max: int
    tags: list[str]
    visibility: Visibility
    status: StoryStatus
    narrator: str
    series_id: uuid.UUID | None
    series_position: int | None
    available_from: datetime | None
    rejection_reason: str | None
    chapters: list[ChapterPublic]
    resume: ProgressPublic | None = None
    child_ids: list[uuid.UUID] = Field(
        default_factory=list, description="A private story's children; shown to its narrator only"
    )


class ChapterRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")
    release_at_local: datetime | None = Field(
        description="Local time in the child's school's timezone, no offset; null: at once"
    )


class ChapterListener(BaseModel):
    """How far one child of the audience has listened to a chapter."""

    child_id: uuid.UUID
    given_name: str
    heard_ms: int
    position_ms: int
    finished: bool


class ChapterStatus(BaseModel):
    id: uuid.UUID
    number: int
    title: str
    state: ChapterState
    asset_id: uuid.UUID
    duration_ms: int | None
    release_at: datetime | None
    released: bool
    listeners: list[ChapterListener]


class StoryChapters(BaseModel):
    """A narrator's view of every chapter, processing ones too, on the school's clock."""

    story_id: uuid.UUID
    timezone: str
    listening_hours: list[ListeningWindow]
    chapters: list[ChapterStatus]


class ProgressUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position_ms: int = Field(ge=0)
    heard: list[tuple[int, int]] = Field(default_factory=list, max_length=1000)


class FiguresPublic(BaseModel):
    story_id: uuid.UUID
    listeners: int
    finishers: int


class BoxCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)


class BoxStoryAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    story_id: uuid.UUID


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    school_id: uuid.UUID
    class_id: uuid.UUID | None = None


class AssignmentPublic(BaseModel):
    id: uuid.UUID
    box_id: uuid.UUID
    school_id: uuid.UUID
    class_id: uuid.UUID | None


class BoxSummary(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    version: int


class BoxPublic(BoxSummary):
    stories: list[StoryPublic]


Manifest = dict[str, Any]
