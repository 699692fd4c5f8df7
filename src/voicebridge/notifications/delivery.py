"""Sending one delivery, exactly once per recipient, channel and address.

The order of steps is what makes a crash harmless:

1. a delivery already ``sent`` or ``skipped`` is done: a job run again after a
   crash between "sent" and the job's own bookkeeping sends nothing;
2. ``sending`` and the attempt are committed *before* the provider is called;
3. the provider gets the delivery's idempotency key (webhook header, e-mail
   Message-ID, Web Push Topic and notification tag, SMS SessionContext);
4. ``sent`` is committed after the provider said yes.

A worker killed between 2 and 4 leaves ``sending``: the next run sends again
with the same key, and the receiver recognises the repeat. Failures retry with
the job table's backoff; a delivery out of attempts is ``dead``, its job goes to
the dead letters, and a dead safety alert is escalated to the next person.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlmodel import Session

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.config import Settings
from voicebridge.jobs.registry import PermanentJobError
from voicebridge.notifications import outbox, templates, vapid
from voicebridge.notifications.channels import Outgoing, Receipt, Sender, SendFailed
from voicebridge.notifications.channels.email import LogEmailSender, SmtpSender
from voicebridge.notifications.channels.push import PushSender
from voicebridge.notifications.channels.sms import LogSmsSender, TencentSmsSender
from voicebridge.notifications.channels.webhook import WebhookSender
from voicebridge.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Notification,
    PushSubscription,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """A failed attempt that will be retried (the job table applies the backoff)."""


@dataclass(frozen=True)
class Skip:
    reason: str


def sender_for(channel: Channel, settings: Settings) -> Sender:
    n = settings.notifications
    if channel is Channel.push:
        return PushSender(n.push, vapid.load(settings))
    if channel is Channel.email:
        return SmtpSender(n.email) if n.email.backend == "smtp" else LogEmailSender(n.email)
    if channel is Channel.sms:
        return TencentSmsSender(n.sms) if n.sms.backend == "tencent" else LogSmsSender(n.sms)
    if channel is Channel.webhook:
        return WebhookSender(n.webhooks)
    raise ValueError(f"no sender for {channel}")


def _still_wanted(session: Session, notification: Notification, user: User) -> str | None:
    """Why a notice should no longer go out, or None."""
    from voicebridge.auth import policy

    if not user.is_active:
        return "account disabled"
    child_id = notification.data.get("child_id")
    linked = child_id is None or policy.is_guardian_of(session, user, uuid.UUID(str(child_id)))
    if user.role is Role.guardian and not linked:
        return "no longer linked to the child"
    return None


def prepare(session: Session, settings: Settings, delivery: Delivery) -> Outgoing | Skip:
    if delivery.notification_id is None:
        # A transactional SMS (one-time code): everything it says is in its params.
        params = delivery.params or {}
        if not params:
            return Skip("nothing left to send")
        return Outgoing(
            key=delivery.idempotency_key,
            target=delivery.target,
            kind="transactional",
            safety=False,
            language=str(params.get("language", "zh")),
            sms_template=str(params.get("template", "")),
            sms_params=[str(p) for p in params.get("params", [])],
        )
    notification = session.get(Notification, delivery.notification_id)
    if notification is None:
        return Skip("notification deleted")
    base = settings.public_base_url.rstrip("/")
    if delivery.channel is Channel.webhook:
        endpoint = session.get(WebhookEndpoint, uuid.UUID(delivery.target))
        if endpoint is None or not endpoint.active:
            return Skip("endpoint removed")
        body = {
            "id": str(notification.id),
            "type": notification.kind,
            "created_at": notification.created_at.isoformat(),
            "school_id": str(notification.school_id) if notification.school_id else None,
            "data": notification.data,
        }
        return Outgoing(
            key=delivery.idempotency_key,
            target=endpoint.url,
            kind=notification.kind,
            safety=notification.safety,
            language="en",
            webhook_secret=endpoint.secret,
            webhook_body=json.dumps(body, ensure_ascii=False, sort_keys=True).encode(),
        )
    user = session.get(User, notification.recipient_id) if notification.recipient_id else None
    if user is None:
        return Skip("recipient deleted")
    reason = _still_wanted(session, notification, user)
    if reason is not None:
        return Skip(reason)
    pref = outbox.preference(session, user.id)
    chosen_by_event = notification.safety or bool(notification.channels)
    if not chosen_by_event and delivery.channel not in outbox.channels_for(
        user, pref, notification.kind
    ):
        return Skip("channel turned off")
    language = pref.language
    text = templates.render(notification.kind, notification.data, language, notification.count)
    link = base + text.path
    common = Outgoing(
        key=delivery.idempotency_key,
        target=delivery.target,
        kind=notification.kind,
        safety=notification.safety,
        language=language,
        title=text.title,
        body=text.body,
        link=link,
    )
    if delivery.channel is Channel.push:
        sub = session.get(PushSubscription, uuid.UUID(delivery.target))
        if sub is None:
            return Skip("subscription removed")
        keys = {"p256dh": sub.p256dh, "auth": sub.auth}
        return replace(common, target=sub.endpoint, push_keys=keys)
    if delivery.channel is Channel.email:
        subject, plain, markup = templates.email(
            notification.kind, notification.data, language, link, notification.count
        )
        return replace(common, title=subject, email_text=plain, email_html=markup)
    if delivery.channel is Channel.sms:
        if text.sms is None:
            return Skip("this notice has no SMS form")
        template, words = text.sms
        return replace(common, sms_template=template, sms_params=words)
    return Skip(f"nothing to send on {delivery.channel.value}")


def _begin(session: Session, settings: Settings, delivery_id: uuid.UUID) -> Outgoing | None:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.state in (DeliveryState.sent, DeliveryState.skipped):
        return None
    now = clock.now()
    prepared = prepare(session, settings, delivery)
    if isinstance(prepared, Skip):
        delivery.state, delivery.last_error, delivery.params = (
            DeliveryState.skipped,
            prepared.reason,
            None,
        )
        delivery.updated_at = now
        session.add(delivery)
        session.commit()
        return None
    delivery.state = DeliveryState.sending
    delivery.attempts += 1
    delivery.updated_at = now
    session.add(delivery)
    session.commit()
    return prepared


def _finish(
    session: Session,
    delivery_id: uuid.UUID,
    receipt: Receipt | None,
    failure: SendFailed | None,
    elapsed_ms: int,
) -> None:
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    now = clock.now()
    delivery.updated_at = now
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            at=now,
            ok=failure is None,
            status_code=(
                receipt.status_code if receipt else failure.status_code if failure else None
            ),
            error=failure.reason[:500] if failure else None,
            duration_ms=elapsed_ms,
        )
    )
    if failure is None:
        delivery.state, delivery.sent_at, delivery.last_error = DeliveryState.sent, now, None
        delivery.provider_id = (receipt.provider_id or "")[:200] if receipt else None
        delivery.params = None  # a one-time code is not kept once it has gone
        if delivery.channel is Channel.push:
            sub = session.get(PushSubscription, uuid.UUID(delivery.target))
            if sub is not None:
                sub.last_success_at = now
                session.add(sub)
        session.add(delivery)
        session.commit()
        return
    delivery.last_error = failure.reason[:500]
    if failure.gone:
        # The browser unsubscribed or the subscription expired: forget it.
        sub = session.get(PushSubscription, uuid.UUID(delivery.target))
        if sub is not None:
            session.delete(sub)
        delivery.state = DeliveryState.skipped
        session.add(delivery)
        session.commit()
        return
    if failure.retry and delivery.attempts < delivery.max_attempts:
        delivery.state = DeliveryState.pending
        session.add(delivery)
        session.commit()
        raise DeliveryFailed(failure.reason)
    delivery.state = DeliveryState.dead
    delivery.params = None
    session.add(delivery)
    if delivery.safety:
        outbox.undelivered(session, delivery)
    session.commit()
    raise PermanentJobError(f"delivery {delivery.id} dead: {failure.reason}")


def deliver(engine: Engine, settings: Settings, delivery_id: uuid.UUID) -> None:
    with Session(engine, expire_on_commit=False) as session:
        outgoing = _begin(session, settings, delivery_id)
        channel = session.get(Delivery, delivery_id)
        if outgoing is None or channel is None:
            return
        sender = sender_for(channel.channel, settings)
    started = time.perf_counter()
    receipt: Receipt | None = None
    failure: SendFailed | None = None
    try:
        receipt = asyncio.run(sender.send(outgoing))
    except SendFailed as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001 - any other failure is retried like a network one
        log.exception("sender failed", extra={"delivery": str(delivery_id)})
        failure = SendFailed(f"{type(exc).__name__}: {exc}", retry=True)
    elapsed = int((time.perf_counter() - started) * 1000)
    with Session(engine, expire_on_commit=False) as session:
        _finish(session, delivery_id, receipt, failure, elapsed)
