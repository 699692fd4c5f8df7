"""HTTP for the in-app feed, notification preferences, Web Push subscriptions and webhooks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from voicebridge.auth.deps import AdminPrincipal, CurrentPrincipal, SettingsDep
from voicebridge.config import Environment
from voicebridge.db import SessionDep
from voicebridge.notifications import service, templates, vapid
from voicebridge.notifications.models import Notification
from voicebridge.notifications.schemas import (
    AttemptPublic,
    FeedItemPublic,
    FeedPage,
    MarkedRead,
    PreferencesPublic,
    PreferencesUpdate,
    PushKey,
    PushSubscriptionCreate,
    PushSubscriptionPublic,
    UndeliveredPublic,
    UnreadCount,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookPublic,
)
from voicebridge.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/notifications", tags=["notifications"])
admin = APIRouter(prefix="/admin", tags=["admin"])


def _item(n: Notification, title: str, body: str, link: str) -> FeedItemPublic:
    return FeedItemPublic(
        id=n.id,
        kind=n.kind,
        title=title,
        body=body,
        link=link,
        count=n.count,
        created_at=n.created_at,
        visible_at=n.visible_at,
        read_at=n.read_at,
    )


@router.get("")
def feed(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> FeedPage:
    """The caller's notifications, newest first, in their language."""
    language = service.preferences(session, principal.user).language
    items, next_cursor = service.feed(session, principal.user, language, cursor, limit)
    return FeedPage(
        items=[_item(i.notification, i.title, i.body, i.link) for i in items],
        next_cursor=next_cursor,
    )


@router.get("/unread-count")
def unread_count(principal: CurrentPrincipal, session: SessionDep) -> UnreadCount:
    return UnreadCount(unread=service.unread_count(session, principal.user))


@router.post("/{notification_id}/read")
def mark_read(
    notification_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> FeedItemPublic:
    n = service.mark_read(session, principal.user, notification_id)
    language = service.preferences(session, principal.user).language
    text = templates.render(n.kind, n.data, language, n.count)
    return _item(n, text.title, text.body, text.path)


@router.post("/read-all")
def mark_all_read(principal: CurrentPrincipal, session: SessionDep) -> MarkedRead:
    return MarkedRead(marked=service.mark_all_read(session, principal.user))


def _preferences_out(session: SessionDep, principal: CurrentPrincipal) -> PreferencesPublic:
    pref = service.preferences(session, principal.user)
    return PreferencesPublic(
        language="en" if pref.language == "en" else "zh",
        email=pref.email,
        phone=pref.phone,
        timezone=pref.timezone,
        quiet_start=pref.quiet_start,
        quiet_end=pref.quiet_end,
        nudges=pref.nudges,
        channels=service.effective_channels(principal.user, pref),
    )


@router.get("/preferences")
def get_preferences(principal: CurrentPrincipal, session: SessionDep) -> PreferencesPublic:
    return _preferences_out(session, principal)


@router.patch("/preferences")
def update_preferences(
    body: PreferencesUpdate, principal: CurrentPrincipal, session: SessionDep
) -> PreferencesPublic:
    """Safety alerts ignore these choices: they always use the channels their rules name."""
    service.update_preferences(session, principal.user, body.model_dump(exclude_unset=True))
    return _preferences_out(session, principal)


@router.get("/push/key")
def push_key(principal: CurrentPrincipal, settings: SettingsDep) -> PushKey:
    """The VAPID public key the browser passes to ``PushManager.subscribe``."""
    key = vapid.load(settings)
    return PushKey(public_key=vapid.public_key_of(key) if key is not None else None)


@router.post("/push/subscriptions", status_code=status.HTTP_201_CREATED)
def subscribe(
    body: PushSubscriptionCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    user_agent: Annotated[str | None, Header()] = None,
) -> PushSubscriptionPublic:
    """Registers this browser for Web Push (the JSON of its PushSubscription)."""
    sub = service.subscribe(
        session,
        principal.user,
        body.endpoint,
        body.keys.p256dh,
        body.keys.auth,
        user_agent,
        allow_loopback=settings.environment is not Environment.production,
    )
    return PushSubscriptionPublic.model_validate(sub)


@router.delete("/push/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(
    subscription_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    service.unsubscribe(session, principal.user, subscription_id)


@admin.post("/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookCreate, principal: AdminPrincipal, session: SessionDep
) -> WebhookCreated:
    """A partner's receiver. The secret is shown here once; events carry ids only."""
    endpoint = service.create_endpoint(
        session,
        principal.user,
        name=body.name,
        url=body.url,
        events=body.events,
        school_id=body.school_id,
    )
    return WebhookCreated(
        **WebhookPublic.model_validate(endpoint).model_dump(), secret=endpoint.secret
    )


@admin.get("/webhooks")
def list_webhooks(principal: AdminPrincipal, session: SessionDep) -> list[WebhookPublic]:
    return [WebhookPublic.model_validate(e) for e in service.endpoints(session)]


@admin.delete("/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(endpoint_id: uuid.UUID, principal: AdminPrincipal, session: SessionDep) -> None:
    service.deactivate_endpoint(session, service.get_endpoint(session, endpoint_id))


@admin.get("/webhooks/{endpoint_id}/deliveries")
def webhook_deliveries(
    endpoint_id: uuid.UUID, principal: AdminPrincipal, session: SessionDep
) -> list[WebhookDeliveryPublic]:
    """Delivery history: every event sent to this endpoint and every attempt at it."""
    endpoint = service.get_endpoint(session, endpoint_id)
    return [
        WebhookDeliveryPublic(
            id=d.id,
            idempotency_key=d.idempotency_key,
            state=d.state.value,
            attempts=[AttemptPublic.model_validate(a) for a in attempts],
            created_at=d.created_at,
            sent_at=d.sent_at,
            last_error=d.last_error,
        )
        for d, attempts in service.history(session, str(endpoint.id))
    ]


@admin.get("/notifications/undelivered")
def undelivered(principal: AdminPrincipal, session: SessionDep) -> list[UndeliveredPublic]:
    """Safety alerts that could not reach someone (each was escalated to the next person)."""
    return [
        UndeliveredPublic(
            delivery_id=d.id,
            recipient_id=d.recipient_id,
            recipient_name=name,
            kind=kind,
            channel=d.channel.value,
            error=d.last_error,
            attempts=d.attempts,
            updated_at=d.updated_at,
        )
        for d, name, kind in service.undelivered_safety(session)
    ]
