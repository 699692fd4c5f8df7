from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicebridge.accounts.models import Role

_PHONE_STRIP = re.compile(r"[\s\-().]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normalize_phone(value: str) -> str:
    """Mainland numbers are often typed without the country code: 13800138000."""
    digits = _PHONE_STRIP.sub("", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"1\d{10}", digits):
        digits = "+86" + digits
    if not _E164.fullmatch(digits):
        raise ValueError("not a phone number; use digits, optionally with +country code")
    return digits


class GuardianRegister(BaseModel):
    phone: str = Field(min_length=5, max_length=30, examples=["13800138000"])
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(min_length=1, max_length=120)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_phone(v)


class UserCreate(BaseModel):
    """An administrator creates accounts for staff, volunteers and moderators."""

    role: Role
    login: str = Field(min_length=3, max_length=120)
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=8, max_length=200)

    @field_validator("role")
    @classmethod
    def _role(cls, v: Role) -> Role:
        if v is Role.child:
            raise ValueError("children are enrolled by their school")
        return v

    @field_validator("login")
    @classmethod
    def _login(cls, v: str) -> str:
        v = v.strip()
        if "@" in v:
            return v.lower()
        return normalize_phone(v)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    role: Role
    login: str | None
    display_name: str
    created_at: datetime
    disabled_at: datetime | None


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None
