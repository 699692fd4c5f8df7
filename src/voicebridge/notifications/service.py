"""The reading side: the in-app feed, preferences, push subscriptions, webhook endpoints.

Everything here is scoped to the caller (their own feed, their own devices) or
to administrators (webhooks, undelivered safety alerts).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.errors import InvalidInput, NotFound
from voicebridge.notifications import outbox, quiet, templates
from voicebridge.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Notification,
    Preference,
    PushSubscription,
    WebhookEndpoint,
)
from voicebridge.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class FeedItem:
    notification: Notification
    title: str
    body: str
    link: str


def _visible(user_id: uuid.UUID, now: datetime) -> Any:
    return (
        (col(Notification.recipient_id) == user_id)
        & (col(Notification.visible_at) <= now)
        & col(Notification.digest_key).is_(None)
    )


def feed(
    session: Session, user: User, language: str, cursor: str | None, limit: int
) -> tuple[list[FeedItem], str | None]:
    """Newest first; each item rendered in the reader's language."""
    now = clock.now()
    query = select(Notification).where(_visible(user.id, now))
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                col(Notification.visible_at) < at,
                (col(Notification.visible_at) == at) & (col(Notification.id) < last_id),
            )
        )
    rows = list(
        session.exec(
            query.order_by(col(Notification.visible_at).desc(), col(Notification.id).desc()).limit(
                limit + 1
            )
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for n in rows:
        text = templates.render(n.kind, n.data, language, n.count)
        items.append(FeedItem(n, text.title, text.body, text.path))
    next_cursor = encode_cursor(rows[-1].visible_at, rows[-1].id) if more and rows else None
    return items, next_cursor


def unread_count(session: Session, user: User) -> int:
    now = clock.now()
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(_visible(user.id, now), col(Notification.read_at).is_(None))
        ).one()
    )


def mark_read(session: Session, user: User, notification_id: uuid.UUID) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != user.id:
        raise NotFound("No such notification")
    if notification.read_at is None:
        notification.read_at = clock.now()
        session.add(notification)
        session.flush()
    return notification


def mark_all_read(session: Session, user: User) -> int:
    now = clock.now()
    result = session.exec(
        update(Notification)
        .where(_visible(user.id, now), col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount or 0)


# ---- preferences --------------------------------------------------------------------------


def preferences(session: Session, user: User) -> Preference:
    return outbox.preference(session, user.id)


def _hhmm(value: str) -> str:
    try:
        quiet.parse_hhmm(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{value!r} is not a time like 22:00") from exc
    return value


def update_preferences(session: Session, user: User, changes: dict[str, Any]) -> Preference:
    pref = session.get(Preference, user.id) or Preference(user_id=user.id)
    if "timezone" in changes and changes["timezone"] is not None:
        zone = changes["timezone"]
        if quiet.zone(zone, "").key != zone:
            raise InvalidInput(f"Unknown time zone {zone!r}")
    for key in ("quiet_start", "quiet_end"):
        if changes.get(key) is not None:
            changes[key] = _hhmm(changes[key])
    if "channels" in changes and changes["channels"] is not None:
        allowed = {c.value for c in outbox.CHOOSABLE}
        channels: dict[str, list[str]] = {}
        for category, chosen in changes["channels"].items():
            unknown = set(chosen) - allowed
            if unknown:
                raise InvalidInput(f"Unknown channels: {', '.join(sorted(unknown))}")
            if user.role is Role.child and set(chosen) - {Channel.in_app.value}:
                raise InvalidInput("Children are told in the app only")
            channels[category] = sorted(set(chosen) | {Channel.in_app.value})
        changes["channels"] = channels
    for key, value in changes.items():
        setattr(pref, key, value)
    pref.updated_at = clock.now()
    session.add(pref)
    session.flush()
    return pref


def effective_channels(user: User, pref: Preference) -> dict[str, list[str]]:
    categories = ("messages", "stories", "family", "nudges", "reports", "help")
    return {
        c: [ch.value for ch in outbox.channels_for(user, pref, _sample_kind(c))] for c in categories
    }


def _sample_kind(category: str) -> str:
    return next(k for k, v in outbox.KINDS.items() if v.category == category and not v.safety)


# ---- Web Push subscriptions ---------------------------------------------------------------


def subscribe(
    session: Session,
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str | None,
    *,
    allow_loopback: bool = False,
) -> PushSubscription:
    """Stores a browser's subscription; the same endpoint again moves it to this account.

    Browsers' push services are always https; plain http to this machine is
    accepted outside production only, for local receivers in development and tests.
    """
    parts = urlsplit(endpoint)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    if not (parts.scheme == "https" and parts.hostname) and not (allow_loopback and loopback):
        raise InvalidInput("A push endpoint is an https URL")
    existing = session.exec(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).first()
    sub = existing or PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth)
    sub.user_id, sub.p256dh, sub.auth = user.id, p256dh, auth
    sub.user_agent = (user_agent or "")[:200] or None
    session.add(sub)
    session.flush()
    return sub


def unsubscribe(session: Session, user: User, subscription_id: uuid.UUID) -> None:
    sub = session.get(PushSubscription, subscription_id)
    if sub is None or sub.user_id != user.id:
        raise NotFound("No such subscription")
    session.delete(sub)
    session.flush()


# ---- webhooks (admins) --------------------------------------------------------------------


def create_endpoint(
    session: Session,
    admin: User,
    *,
    name: str,
    url: str,
    events: list[str],
    school_id: uuid.UUID | None,
) -> WebhookEndpoint:
    unknown = set(events) - set(outbox.WEBHOOK_EVENTS)
    if unknown or not events:
        raise InvalidInput(f"Events must be some of: {', '.join(outbox.WEBHOOK_EVENTS)}")
    if not url.startswith(("https://", "http://")):
        raise InvalidInput("A webhook URL starts with https://")
    endpoint = WebhookEndpoint(
        name=name,
        url=url,
        secret="whsec_" + secrets.token_urlsafe(32),
        events=sorted(set(events)),
        school_id=school_id,
        created_by=admin.id,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at))))


def get_endpoint(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint")
    return endpoint


def deactivate_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    endpoint.active = False
    session.add(endpoint)
    session.flush()


def history(
    session: Session, target: str, limit: int = 100
) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    deliveries = list(
        session.exec(
            select(Delivery)
            .where(Delivery.channel == Channel.webhook, Delivery.target == target)
            .order_by(col(Delivery.created_at).desc())
            .limit(limit)
        )
    )
    return [(d, attempts_of(session, d.id)) for d in deliveries]


def attempts_of(session: Session, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
    return list(
        session.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(col(DeliveryAttempt.at))
        )
    )


def undelivered_safety(session: Session, limit: int = 200) -> list[tuple[Delivery, str, str]]:
    """Safety deliveries that failed for good, newest first, with whom and what they were."""
    rows = session.exec(
        select(Delivery, User.display_name, Notification.kind)
        .join(User, col(User.id) == col(Delivery.recipient_id))
        .join(Notification, col(Notification.id) == col(Delivery.notification_id))
        .where(Delivery.state == DeliveryState.dead, Delivery.safety == True)  # noqa: E712
        .order_by(col(Delivery.updated_at).desc())
        .limit(limit)
    ).all()
    return [(d, name, kind) for d, name, kind in rows]
