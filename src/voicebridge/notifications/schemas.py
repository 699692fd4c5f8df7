"""Request and response models for the feed, preferences, Web Push and webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ChannelName = Literal["in_app", "push", "email", "sms"]


class FeedItemPublic(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    # Where the app should go when the item is opened (a path inside the app).
    link: str
    count: int
    created_at: datetime
    visible_at: datetime
    read_at: datetime | None


class FeedPage(BaseModel):
    items: list[FeedItemPublic]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int


class PreferencesPublic(BaseModel):
    language: Literal["zh", "en"]
    email: str | None
    phone: str | None
    timezone: str | None
    quiet_start: str | None
    quiet_end: str | None
    nudges: bool
    # What each category uses now (the person's choice or their role's default).
    channels: dict[str, list[str]]


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["zh", "en"] | None = None
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    quiet_end: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    nudges: bool | None = None
    channels: (
        dict[
            Literal["messages", "stories", "family", "nudges", "reports", "help"],
            list[ChannelName],
        ]
        | None
    ) = None


class PushKey(BaseModel):
    # The VAPID application server key for PushManager.subscribe; null when push is off.
    public_key: str | None


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=80, max_length=200, pattern=r"^[A-Za-z0-9_-]+=*$")
    auth: str = Field(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")


class PushSubscriptionCreate(BaseModel):
    """The browser's ``PushSubscription.toJSON()``."""

    endpoint: str = Field(min_length=10, max_length=1000)
    keys: PushKeys
    expirationTime: float | None = None  # noqa: N815 - the browser's own field name


class PushSubscriptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    last_success_at: datetime | None


class WebhookCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    url: str = Field(min_length=8, max_length=1000)
    events: list[str] = Field(min_length=1, max_length=10)
    school_id: uuid.UUID | None = None


class WebhookPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    url: str
    events: list[str]
    school_id: uuid.UUID | None
    active: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    # Shown once: the receiver's signing key.
    secret: str


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryPublic(BaseModel):
    id: uuid.UUID
    idempotency_key: str
    state: str
    attempts: list[AttemptPublic]
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class UndeliveredPublic(BaseModel):
    delivery_id: uuid.UUID
    recipient_id: uuid.UUID | None
    recipient_name: str
    kind: str
    channel: str
    error: str | None
    attempts: int
    updated_at: datetime
