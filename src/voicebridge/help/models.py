"""Volunteer psychologists, help requests, offers, case messages and the records around them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint
from sqlmodel import Column, Field, Index, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class Verification(StrEnum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class Urgency(StrEnum):
    critical = "critical"
    high = "high"
    normal = "normal"
    low = "low"


# Higher is more urgent; queues sort on this.
URGENCY_RANK = {Urgency.critical: 3, Urgency.high: 2, Urgency.normal: 1, Urgency.low: 0}


class Category(StrEnum):
    lonely = "lonely"
    family = "family"
    school = "school"
    bullying = "bullying"
    body_health = "body_health"
    other = "other"


class RequestState(StrEnum):
    waiting = "waiting"
    assigned = "assigned"
    closed = "closed"


class OfferState(StrEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"


class MessageState(StrEnum):
    processing = "processing"
    visible = "visible"
    held_for_review = "held_for_review"
    rejected = "rejected"
    failed = "failed"


class EscalationLevel(StrEnum):
    supervisors = "supervisors"
    safeguarding = "safeguarding"


class ReferralState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class PsychologistProfile(SQLModel, table=True):
    __tablename__ = "psychologist_profiles"
    # The last line of defence for "nobody holds more cases than their capacity".
    __table_args__ = (CheckConstraint("open_cases <= capacity", name="within_capacity"),)

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    credentials: str = Field(max_length=4000)
    verification: Verification = Field(
        default=Verification.pending, sa_type=enum_type(Verification), index=True
    )
    verified_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Language/dialect codes from help/data (e.g. "cmn", "sichuanese").
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    specialties: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    capacity: int = 3
    # Kept in step with assigned cases by conditional UPDATEs, so accepts never overfill.
    open_cases: int = 0
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    # [{"weekday": 0-6 (Monday=0), "start": "18:00", "end": "22:00"}] in ``timezone``.
    availability: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    on_duty: bool = False
    is_supervisor: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class HelpRequest(SQLModel, table=True):
    __tablename__ = "help_requests"
    __table_args__ = (Index("ix_help_requests_queue", "state", "urgency", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    child_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True)
    category: Category = Field(sa_type=enum_type(Category))
    not_safe: bool = False
    text: str | None = Field(default=None, max_length=4000)
    audio_asset_id: uuid.UUID | None = Field(default=None, foreign_key="audio_assets.id")
    language: str = Field(default="cmn", max_length=30)
    urgency: Urgency = Field(sa_type=enum_type(Urgency))
    # What automation decided (triage, risk words, a transcript): only a supervisor
    # with a reason may set the request below it. Every change is in UrgencyChange.
    triage_urgency: Urgency | None = Field(default=None, sa_type=enum_type(Urgency))
    # The highest urgency the request ever had: the closing rules follow it.
    peak_urgency: Urgency | None = Field(default=None, sa_type=enum_type(Urgency))
    risk_flagged: bool = False
    # The child chose to record instead of typing; until a person has played the
    # recording (``heard_at``) a voice-only request is "not yet heard".
    voice: bool = False
    heard_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Speech turned into text (a later issue); it goes through the same triage.
    transcript: str | None = Field(default=None, max_length=4000)
    state: RequestState = Field(default=RequestState.waiting, sa_type=enum_type(RequestState))
    psychologist_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    assigned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    first_response_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    outcome_notes: str | None = Field(default=None, max_length=4000)
    # {"thoughts": bool, "plan": bool, "means": bool, "timeframe": str, "notes": str}
    risk_assessment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    safety_plan: str | None = Field(default=None, max_length=4000)
    follow_up_on: date | None = None


class Offer(SQLModel, table=True):
    __tablename__ = "help_offers"
    __table_args__ = (Index("ix_help_offers_open", "psychologist_id", "state"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    psychologist_id: uuid.UUID = Field(foreign_key="users.id")
    broadcast: bool = False
    score: float = 0.0
    offered_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    state: OfferState = Field(default=OfferState.open, sa_type=enum_type(OfferState))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class HelpMessage(SQLModel, table=True):
    __tablename__ = "help_messages"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    sender_id: uuid.UUID = Field(foreign_key="users.id")
    from_child: bool
    text: str | None = Field(default=None, max_length=4000)
    audio_asset_id: uuid.UUID | None = Field(default=None, foreign_key="audio_assets.id")
    state: MessageState = Field(default=MessageState.visible, sa_type=enum_type(MessageState))
    held_reasons: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    reviewed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Escalation(SQLModel, table=True):
    __tablename__ = "help_escalations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    level: EscalationLevel = Field(sa_type=enum_type(EscalationLevel))
    reason: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class HelpAlert(SQLModel, table=True):
    """One in-app alert per recipient; the notifications domain will deliver these later."""

    __tablename__ = "help_alerts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    recipient_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=40)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class UrgencyChange(SQLModel, table=True):
    """Append-only history of a request's urgency: who (None = automation), when, why."""

    __tablename__ = "help_urgency_changes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    changed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    from_urgency: Urgency | None = Field(default=None, sa_type=enum_type(Urgency))
    to_urgency: Urgency = Field(sa_type=enum_type(Urgency))
    reason: str = Field(max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class CaseAccessLog(SQLModel, table=True):
    """Append-only: the service only ever inserts rows here."""

    __tablename__ = "case_access_log"
    __table_args__ = (Index("ix_case_access_log_at", "at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    action: str = Field(max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Referral(SQLModel, table=True):
    """An emergency referral: sharing the child's identity outside needs a supervisor."""

    __tablename__ = "help_referrals"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    request_id: uuid.UUID = Field(foreign_key="help_requests.id", index=True, ondelete="CASCADE")
    requested_by: uuid.UUID = Field(foreign_key="users.id")
    agency: str = Field(max_length=200)
    reason: str = Field(max_length=2000)
    state: ReferralState = Field(default=ReferralState.pending, sa_type=enum_type(ReferralState))
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decision_reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
