"""Links between guardians and children, the codes that create them, and consent."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class Relation(StrEnum):
    mother = "mother"
    father = "father"
    grandparent = "grandparent"
    other_relative = "other_relative"
    other = "other"


class Invitation(SQLModel, table=True):
    """A one-time code staff hand to an adult whose identity they checked in person."""

    __tablename__ = "invitations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    child_id: uuid.UUID = Field(foreign_key="children.id", index=True, ondelete="CASCADE")
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    relation: Relation = Field(sa_type=enum_type(Relation))
    code_hash: str = Field(max_length=64, unique=True)
    note: str | None = Field(default=None, max_length=500)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    redeemed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    redeemed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class GuardianLink(SQLModel, table=True):
    """A verified guardian of a child. Active while neither revoked nor consent withdrawn."""

    __tablename__ = "guardian_links"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    child_id: uuid.UUID = Field(foreign_key="children.id", index=True, ondelete="CASCADE")
    guardian_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    relation: Relation = Field(sa_type=enum_type(Relation))
    invitation_id: uuid.UUID = Field(foreign_key="invitations.id")
    verified_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    revoked_reason: str | None = Field(default=None, max_length=500)


class Consent(SQLModel, table=True):
    """What a guardian agreed to for a child's data (PIPL: a minor's data is sensitive)."""

    __tablename__ = "consents"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    link_id: uuid.UUID = Field(foreign_key="guardian_links.id", index=True, ondelete="CASCADE")
    guardian_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    child_id: uuid.UUID = Field(foreign_key="children.id", index=True, ondelete="CASCADE")
    notice_version: str = Field(max_length=40)
    purposes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    retention_days: int
    given_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
