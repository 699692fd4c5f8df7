from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from voicebridge.accounts.schemas import Login, Phone, UserPublic
from voicebridge.auth.phone import Purpose


class LoginRequest(BaseModel):
    login: Login
    password: str = Field(min_length=1, max_length=200)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class ChildLoginRequest(BaseModel):
    child_id: uuid.UUID
    pin: str = Field(pattern=r"^\d{4,8}$")


class TokenResponse(BaseModel):
    token_type: str = "bearer"
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: UserPublic


class CodeRequest(BaseModel):
    phone: Phone
    purpose: Purpose = Purpose.register


class CodeSent(BaseModel):
    """Said whether or not a code was sent (it is only sent where it can be used)."""

    sent: bool = True
    expires_in_seconds: int


class GuardianRegister(BaseModel):
    phone: Phone
    code: str = Field(pattern=r"^\d{6}$", description="The code the SMS brought")
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(min_length=1, max_length=120)


class PasswordReset(BaseModel):
    phone: Phone
    code: str = Field(pattern=r"^\d{6}$", description="The code the SMS brought")
    new_password: str = Field(min_length=8, max_length=200)
