from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from voicebridge.families.models import Relation

CONSENT_PURPOSES = ("voice_messages", "stories", "school_contact", "help_requests", "transcripts")


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
        description="Purposes of the notice the guardian agreed to (`GET` the notice for "
        "their wording); `transcripts` is optional and needs notice 2026-11 or later",
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
    erasure_due_at: datetime | None = Field(
        default=None,
        description="When this guardian's conversation with the child will be deleted "
        "(after a withdrawal or revocation); consenting again before then keeps it",
    )


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
    consent_needed: bool = Field(
        default=False,
        description="The consent notice changed since this guardian consented; ask again",
    )
