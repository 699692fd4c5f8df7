"""The outbox: notifications (one per recipient and event, also the in-app feed) and
their deliveries (one per channel and address), plus preferences, Web Push
subscriptions and partner webhooks.

A notification never holds a child's words, a help request's category or a
child's full name: ``data`` carries ids and the few words a template needs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Column, Field, Index, SQLModel

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class Channel(StrEnum):
    in_app = "in_app"
    push = "push"
    email = "email"
    sms = "sms"
    webhook = "webhook"


class DeliveryState(StrEnum):
    pending = "pending"  # waiting for its job: due now, or held by quiet hours
    sending = "sending"  # handed to the provider; a crash here means "send again, same key"
    sent = "sent"
    skipped = "skipped"  # nothing to send any more (subscription expired, channel turned off)
    dead = "dead"  # gave up; a safety alert's dead delivery is escalated


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_feed", "recipient_id", "visible_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # None for an event that goes to partner webhooks only.
    recipient_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    school_id: uuid.UUID | None = Field(
        default=None, foreign_key="schools.id", index=True, ondelete="CASCADE"
    )
    kind: str = Field(max_length=60)
    safety: bool = False
    # Ids and template words only (see the module docstring).
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # Makes writing the same event twice (a retried job) one notification.
    event_key: str | None = Field(default=None, max_length=200, unique=True)
    # Channels chosen by the event itself (a safety alert's), else preferences decide.
    channels: list[str] | None = Field(default=None, sa_column=Column(JSONType))
    # An open digest gathers events under this key until it is closed and sent.
    digest_key: str | None = Field(default=None, max_length=200, unique=True)
    count: int = 1
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # The feed shows a notification from this time (a digest when it closes, a
    # story chapter when it is released).
    visible_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Delivery(SQLModel, table=True):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_created", "created_at"),
        Index("ix_notification_deliveries_state", "state", "safety"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # None for a transactional SMS (a one-time code to a number not yet an account).
    notification_id: uuid.UUID | None = Field(
        default=None, foreign_key="notifications.id", index=True, ondelete="CASCADE"
    )
    recipient_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="CASCADE"
    )
    channel: Channel = Field(sa_type=enum_type(Channel))
    # A push subscription id, a phone number, an e-mail address or a webhook endpoint id.
    target: str = Field(max_length=320)
    # Sent to the provider with every attempt, so a repeat after a crash is recognisable.
    idempotency_key: str = Field(max_length=120, unique=True)
    safety: bool = False
    state: DeliveryState = Field(default=DeliveryState.pending, sa_type=enum_type(DeliveryState))
    attempts: int = 0
    max_attempts: int = 8
    # When it became (or becomes) due: quiet hours and digests move this, not the lag.
    due_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, max_length=500)
    provider_id: str | None = Field(default=None, max_length=200)
    # A transactional SMS carries its template and words here until sent, then they are erased.
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class DeliveryAttempt(SQLModel, table=True):
    """One try at one delivery: the delivery history admins and partners read."""

    __tablename__ = "notification_attempts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(
        foreign_key="notification_deliveries.id", index=True, ondelete="CASCADE"
    )
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    ok: bool
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = 0


class Preference(SQLModel, table=True):
    """What a person chose; anything left unset follows their role's defaults."""

    __tablename__ = "notification_preferences"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    language: str = Field(default="zh", max_length=5)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    # {"messages": ["in_app", "push"], ...}; a category missing here uses the default.
    channels: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    nudges: bool = True
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PushSubscription(SQLModel, table=True):
    """One browser on one device (the PushSubscription the service worker made)."""

    __tablename__ = "push_subscriptions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    endpoint: str = Field(max_length=1000, unique=True)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    user_agent: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class WebhookEndpoint(SQLModel, table=True):
    """A partner organisation's receiver; ``events`` lists the kinds it wants."""

    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=120)
    url: str = Field(max_length=1000)
    # The signing key; shown once when created, never listed.
    secret: str = Field(max_length=100)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Only this school's events, or every school's when None.
    school_id: uuid.UUID | None = Field(default=None, foreign_key="schools.id", ondelete="CASCADE")
    active: bool = True
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
