from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from voicebridge.accounts.models import Role

# What the API takes as a phone number: the international form (+ or 00, then
# 7 to 15 digits), or a mainland mobile number with or without 86 in front.
# Spaces, dots and hyphens may separate digits. Stored as E.164: +8613800138000.
_SEP = "[ .-]?"
PHONE_PATTERN = (
    rf"^(?:(?:\+|00)[1-9](?:{_SEP}[0-9]){{6,14}}|(?:\+?86{_SEP})?1(?:{_SEP}[0-9]){{10}})$"
)
_NOT_TEXT = r"\s@\u0000\ud800-\udfff"
EMAIL_PATTERN = rf"^[^{_NOT_TEXT}]+@[^{_NOT_TEXT}]+$"
# Surrounding spaces (a pasted login) are forgiven.
LOGIN_PATTERN = rf"^ *(?:[^{_NOT_TEXT}]+@[^{_NOT_TEXT}]+|{PHONE_PATTERN[1:-1]}) *$"
PHONE_HELP = (
    "not a phone number: give a mainland mobile number (13800138000) or the full "
    "international number starting with + (+44 7911 123456)"
)


def normalize_phone(value: str) -> str:
    """E.164 for any way people write their number; ValueError with a hint otherwise."""
    if not re.fullmatch(PHONE_PATTERN, value):
        raise ValueError(PHONE_HELP)
    digits = re.sub(r"[ .-]", "", value)
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("+"):
        return digits
    # Mainland mobile: 11 digits starting with 1, perhaps behind the country code 86.
    return "+86" + digits.removeprefix("86")


def normalize_login(value: str) -> str:
    """E-mail addresses are compared in lower case; anything else must be a phone number."""
    value = value.strip(" ")
    if "@" in value:
        if not re.fullmatch(EMAIL_PATTERN, value):
            raise ValueError("not an e-mail address")
        return value.lower()
    try:
        return normalize_phone(value)
    except ValueError:
        raise ValueError(f"not an e-mail address or {PHONE_HELP[4:]}") from None


Phone = Annotated[
    str,
    Field(
        max_length=30,
        examples=["13800138000", "+86 138 0013 8000"],
        json_schema_extra={"pattern": PHONE_PATTERN},
        description="A mainland mobile number, or any number in international form with +",
    ),
    AfterValidator(normalize_phone),
]
Login = Annotated[
    str,
    Field(
        min_length=3,
        max_length=120,
        json_schema_extra={"pattern": LOGIN_PATTERN},
        description="An e-mail address or a phone number (see Phone)",
    ),
    AfterValidator(normalize_login),
]


class UserCreate(BaseModel):
    """An administrator creates accounts for staff, volunteers and moderators."""

    role: Role
    login: Login
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=8, max_length=200)

    @field_validator("role")
    @classmethod
    def _role(cls, v: Role) -> Role:
        if v is Role.child:
            raise ValueError("children are enrolled by their school")
        return v


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
