from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from voicebridge.accounts.schemas import Login, UserPublic


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
