from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from voicebridge.accounts.schemas import UserPublic, normalize_phone


class LoginRequest(BaseModel):
    login: str = Field(min_length=3, max_length=120, description="Phone number or e-mail")
    password: str = Field(min_length=1, max_length=200)

    @field_validator("login")
    @classmethod
    def _login(cls, v: str) -> str:
        v = v.strip()
        if "@" in v:
            return v.lower()
        try:
            return normalize_phone(v)
        except ValueError:
            return v


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
