"""Users of every role. A child is a user too, without a password or phone."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel

from voicebridge.db import UTCDateTime, enum_type, new_id, utcnow


class Role(StrEnum):
    guardian = "guardian"
    child = "child"
    staff = "staff"
    psychologist = "psychologist"
    moderator = "moderator"
    admin = "admin"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    role: Role = Field(index=True, sa_type=enum_type(Role))
    # Phone number for guardians, phone or e-mail for staff and volunteers; None for children.
    login: str | None = Field(default=None, unique=True, max_length=120)
    display_name: str = Field(max_length=120)
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None
