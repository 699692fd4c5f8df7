"""Sign-in state: sessions, refresh tokens, devices' credentials, throttling counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from voicebridge.db import UTCDateTime, new_id, utcnow


class AuthSession(SQLModel, table=True):
    """One sign-in. Access tokens name it (``sid``); revoking it ends them at once.

    It is also the refresh-token family: replaying a used refresh token revokes it.
    """

    __tablename__ = "auth_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    device_id: uuid.UUID | None = Field(
        default=None, foreign_key="devices.id", index=True, ondelete="CASCADE"
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_reason: str | None = Field(default=None, max_length=40)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="auth_sessions.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Device(SQLModel, table=True):
    """A shared school tablet or PC on which children sign in with a PIN."""

    __tablename__ = "devices"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    token_hash: str = Field(max_length=64, unique=True)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Attempt(SQLModel, table=True):
    """A failed attempt at something guessable (password, invitation code).

    Counted per ``scope``/``key`` inside a window; kept in the database so every
    API process shares the same count.
    """

    __tablename__ = "attempts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    scope: str = Field(max_length=20, index=True)
    key: str = Field(max_length=200, index=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    # Where the guess came from (client address, device id), when it matters.
    source: str | None = Field(default=None, max_length=200)


class RateCounter(SQLModel, table=True):
    """Hits on a rate-limited action in one fixed window, shared by every API process.

    Incremented by one atomic upsert (``INSERT ... ON CONFLICT DO UPDATE``).
    """

    __tablename__ = "rate_counters"

    scope: str = Field(max_length=40, primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    window_start: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True, index=True))
    count: int = 0


class PhoneVerification(SQLModel, table=True):
    """A one-time code sent by SMS to prove a phone number (registration, password reset).

    Only its hash is kept; it dies after a few wrong tries, once used, or at expiry.
    """

    __tablename__ = "phone_verifications"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    phone: str = Field(max_length=20, index=True)
    purpose: str = Field(max_length=20)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    failures: int = 0
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
