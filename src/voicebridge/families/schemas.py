from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from voicebridge.families.models import Relation

CONSENT_PURPOSES = ("voice_messages", "stories", "school_contact", "help_requests", "transcripts")
# The consent notice, one line per purpose, as the guardian reads it before agreeing.
CONSENT_NOTICE = {
    "voice_messages": "Voice messages between you and the child are kept and played.",
    "stories": "Stories you record may be played to the child.",
    "school_contact": "The child's school may send you voice messages.",
    "help_requests": "The child may ask volunteer psychologists for help.",
    "transcripts": "Your family's voice messages are turned into text by a program on our own "
    "server, shown to you and the child and searchable by you both; the text is deleted with "
    "the message, or when you withdraw this consent. The text can be wrong.",
}


class InvitationCreate(BaseModel):
    relation: Relation
    note: str | None = Field(
        default=None, max_length=500, description="How identity was checked, for the record"
    )


class InvitationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    child_id: uuid.UUID
    relation: Relation
    created_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    cancelled_at: datetime | None


class InvitationIssued(InvitationPublic):
    code: str = Field(description="Shown once; give it to the adult in person")


class ConsentIn(BaseModel):
    notice_version: str = Field(min_length=1, max_length=40, examples=["2026-09"])
    purposes: list[str] = Field(
        min_length=1,
        max_length=10,
        examples=[["voice_messages"]],
        description="What the guardian agreed to: "
        + " ".join(f"`{k}`: {v}" for k, v in CONSENT_NOTICE.items()),
    )
    retention_days: int = Field(ge=1, le=3650)
    agreed: bool = Field(description="The guardian ticked the consent box")


class RedeemRequest(BaseModel):
    code: str = Field(min_length=6, max_length=40)
    consent: ConsentIn


class ConsentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    notice_version: str
    purposes: list[str]
    retention_days: int
    given_at: datetime
    withdrawn_at: datetime | None


class LinkPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    guardian_id: uuid.UUID
    guardian_name: str
    guardian_phone: str | None
    relation: Relation
    created_at: datetime
    revoked_at: datetime | None
    consent: ConsentPublic | None


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class LinkedChild(BaseModel):
    link_id: uuid.UUID
    child_id: uuid.UUID
    given_name: str
    family_name: str
    school_id: uuid.UUID
    school_name: str
    relation: Relation
