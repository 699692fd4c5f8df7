"""Request and response shapes for help and psychologist routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicebridge.help.config import CrisisResource
from voicebridge.help.models import (
    Category,
    MessageState,
    OfferState,
    ReferralState,
    RequestState,
    Urgency,
    Verification,
)
from voicebridge.transcripts.schemas import TranscriptPublic


class Window(BaseModel):
    weekday: int = Field(ge=0, le=6)
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")


class Application(BaseModel):
    credentials: str = Field(min_length=10, max_length=4000)
    languages: list[str] = Field(min_length=1, max_length=20)
    specialties: list[Category] = Field(default_factory=list)
    capacity: int = Field(default=3, ge=1, le=20)
    timezone: str = "Asia/Shanghai"
    availability: list[Window] = Field(default_factory=list, max_length=50)


class ProfileUpdate(BaseModel):
    languages: list[str] | None = Field(default=None, min_length=1, max_length=20)
    specialties: list[Category] | None = None
    capacity: int | None = Field(default=None, ge=1, le=20)
    timezone: str | None = None
    availability: list[Window] | None = Field(default=None, max_length=50)


class Duty(BaseModel):
    on_duty: bool


class VerificationDecision(BaseModel):
    decision: Verification
    is_supervisor: bool = False

    @field_validator("decision")
    @classmethod
    def _decided(cls, v: Verification) -> Verification:
        if v is Verification.pending:
            raise ValueError("decide verified or rejected")
        return v


class ProfilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    display_name: str | None = None
    credentials: str
    verification: Verification
    languages: list[str]
    specialties: list[str]
    capacity: int
    open_cases: int
    timezone: str
    availability: list[dict[str, Any]]
    on_duty: bool
    is_supervisor: bool


class RequestCreate(BaseModel):
    category: Category
    not_safe: bool = False
    text: str | None = Field(default=None, max_length=4000)
    # The child records instead of typing: the recording follows as an upload.
    voice: bool = False
    language: str = Field(default="cmn", max_length=30)

    @model_validator(mode="after")
    def _something(self) -> RequestCreate:
        if not (self.text and self.text.strip()) and not self.voice and not self.not_safe:
            raise ValueError("say what is wrong: text, a recording, or 'I am not safe'")
        return self


class RequestPublic(BaseModel):
    id: uuid.UUID
    category: Category
    not_safe: bool
    urgency: Urgency
    state: RequestState
    language: str
    text: str | None
    audio_asset_id: uuid.UUID | None
    created_at: datetime
    assigned_at: datetime | None
    psychologist_id: uuid.UUID | None
    closed_at: datetime | None = None
    child_name: str | None = None
    school_id: uuid.UUID | None = None
    # The highest urgency the request ever had (the closing rules follow it).
    peak_urgency: Urgency | None = None
    # The child recorded instead of typing; nobody has listened to it yet.
    voice: bool = False
    not_yet_heard: bool = False
    # What a volunteer needs to decide on an offer.
    child_age: int | None = None
    waiting_seconds: int | None = None
    # True when the child's words (text, recording) are withheld: an offer not yet accepted.
    words_hidden: bool = False
    # For the child: an honest status and when someone should be with them.
    status: str | None = None
    status_text: str | None = None
    expected_by: datetime | None = None
    transcript: TranscriptPublic | None = Field(
        default=None,
        description="Machine-made transcript of the recording, for the adults on the case "
        "(not in an offer's preview); the recording stays the record",
    )


class RequestCreated(BaseModel):
    request: RequestPublic
    nobody_on_duty: bool
    crisis_resources: list[CrisisResource]


class QueueItem(BaseModel):
    offer_id: uuid.UUID
    offer_state: OfferState
    expires_at: datetime
    request: RequestPublic


class MessageCreate(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    sender_id: uuid.UUID
    from_child: bool
    text: str | None
    audio_asset_id: uuid.UUID | None
    state: MessageState
    held_reasons: list[str] = Field(default_factory=list)
    created_at: datetime
    transcript: TranscriptPublic | None = None


class UrgencyChange(BaseModel):
    urgency: Urgency
    # Needed (and only a supervisor may do it) to go below what triage found.
    reason: str | None = Field(default=None, max_length=2000)


class UrgencyChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    changed_by: uuid.UUID | None
    from_urgency: Urgency | None
    to_urgency: Urgency
    reason: str
    at: datetime


class Reassign(BaseModel):
    # Another verified psychologist with a free place; omitted: back to the queue.
    psychologist_id: uuid.UUID | None = None


class AccessLogEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    user_id: uuid.UUID
    action: str
    at: datetime


class AccessLogPage(BaseModel):
    items: list[AccessLogEntry]
    next_cursor: str | None


class RiskAssessment(BaseModel):
    thoughts: bool
    plan: bool
    means: bool
    timeframe: str = Field(max_length=200)
    notes: str | None = Field(default=None, max_length=2000)


class CaseClose(BaseModel):
    outcome_notes: str = Field(min_length=1, max_length=4000)
    risk_assessment: RiskAssessment | None = None
    safety_plan: str | None = Field(default=None, max_length=4000)
    follow_up_on: date | None = None


class Review(BaseModel):
    release: bool


class ReferralCreate(BaseModel):
    agency: str = Field(min_length=2, max_length=200)
    reason: str = Field(min_length=5, max_length=2000)


class ReferralDecision(BaseModel):
    approve: bool
    reason: str = Field(min_length=5, max_length=2000)


class ReferralPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    agency: str
    reason: str
    state: ReferralState
    decision_reason: str | None
    created_at: datetime
    identity: dict[str, Any] | None = None


class ReferralWaiting(ReferralPublic):
    """A referral in the supervisors' list: the case's urgency and who asked."""

    urgency: Urgency
    request_state: RequestState
    requested_by_name: str | None = None


class EarlierCase(BaseModel):
    """An earlier case of the same child with the same psychologist (continuity).

    The psychologist's own record of it, not the child's words: those stay behind the
    case's own routes, which log each read."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    category: Category
    urgency: Urgency
    peak_urgency: Urgency | None
    state: RequestState
    created_at: datetime
    closed_at: datetime | None
    outcome_notes: str | None
    safety_plan: str | None
    follow_up_on: date | None


class EscalationPublic(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    level: str
    reason: str
    created_at: datetime
    urgency: Urgency
    request_state: RequestState
    child_id: uuid.UUID
    school_id: uuid.UUID


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    kind: str
    created_at: datetime


class Language(BaseModel):
    code: str
    name: str


class Options(BaseModel):
    categories: list[Category]
    languages: list[Language]
    crisis_resources: list[CrisisResource]
