from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from voicebridge.privacy.models import ErasureScope, ExportState


class PurposePublic(BaseModel):
    code: str
    zh: str
    en: str


class NoticePublic(BaseModel):
    version: str
    published: str
    purposes: list[PurposePublic]
    retention_choices: list[int]
    withdrawal_grace_days: int = Field(
        description="Days between withdrawing consent (or a revoked link) and deletion"
    )
    contact: str = Field(description="Where to send requests about your data")
    zh: str
    en: str


class ErasurePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    scope: ErasureScope
    subject_id: uuid.UUID
    reason: str
    requested_at: datetime
    due_at: datetime
    done_at: datetime | None
    cancelled_at: datetime | None


class CloseRecord(BaseModel):
    reason: str = Field(min_length=1, max_length=500, examples=["Moved to a school in Chengdu"])


class ExportPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    state: ExportState
    size: int | None
    messages: int
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None


class EraseAccount(BaseModel):
    confirm: bool = Field(description="The guardian confirmed: erase everything, for good")


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str
    action: str
    subject_type: str
    subject_id: uuid.UUID | None
    school_id: uuid.UUID | None
    detail: dict[str, str | int | bool]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    next_before_seq: int | None = Field(description="Pass as before_seq for the next page")
