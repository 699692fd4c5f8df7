"""The outbox: notifications written in the caller's transaction, and their deliveries planned.

``record`` adds a notification (which is also the in-app feed item) and a
dispatch job to the caller's transaction, so a rolled-back change tells nobody
and a committed one cannot be forgotten. The dispatch job reads the person's
preferences and quiet hours and writes one delivery per channel and address,
each with its own job and idempotency key (``jobs.py`` sends them).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.jobs import service as jobs
from voicebridge.live import events as live
from voicebridge.notifications import quiet
from voicebridge.notifications.config import NotificationSettings
from voicebridge.notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Notification,
    Preference,
    PushSubscription,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

DISPATCH = "notifications.dispatch"
DELIVER = "notifications.deliver"
DELIVER_SAFETY = "notifications.deliver_safety"

# Channels that can wake a phone; quiet hours hold these for ordinary notices.
INTRUSIVE = frozenset({Channel.push, Channel.email, Channel.sms})
CHOOSABLE = (Channel.in_app, Channel.push, Channel.email, Channel.sms)


@dataclass(frozen=True)
class Kind:
    category: str
    # Safety alerts ignore quiet hours and preferences, and escalate when they fail.
    safety: bool = False
    # Work someone is on duty for: ignores quiet hours, follows preferences.
    urgent: bool = False
    # The channels of a safety alert, whatever the person chose.
    fixed: tuple[Channel, ...] = ()


KINDS: dict[str, Kind] = {
    "message.new": Kind("messages"),
    "message.reply": Kind("messages"),
    "message.listened": Kind("messages"),
    "story.chapter": Kind("stories"),
    "invitation.redeemed": Kind("family"),
    "nudge": Kind("nudges"),
    "report.weekly": Kind("reports"),
    "help.offer": Kind("help", urgent=True),
    "help.alert": Kind("help", urgent=True),
    "help.critical": Kind("help", safety=True, fixed=(Channel.in_app, Channel.push, Channel.sms)),
    "help.escalation": Kind(
        "help", safety=True, fixed=(Channel.in_app, Channel.sms, Channel.email)
    ),
    "safety.undelivered": Kind(
        "help",
        safety=True,
        fixed=(Channel.in_app, Channel.push, Channel.sms, Channel.email),
    ),
}
# Partner webhooks hear these (ids only; see WebhookEndpoint.events).
WEBHOOK_EVENTS = ("help.escalated", "safety.undelivered", "invitation.redeemed")

_IN_APP = [Channel.in_app]
DEFAULTS: dict[Role, dict[str, list[Channel]]] = {
    Role.guardian: {
        "messages": [Channel.in_app, Channel.push],
        "stories": [Channel.in_app, Channel.push],
        "nudges": [Channel.in_app, Channel.push],
    },
    Role.staff: {
        "messages": [Channel.in_app, Channel.push],
        "family": [Channel.in_app, Channel.email],
        "reports": [Channel.in_app, Channel.email],
        "help": [Channel.in_app, Channel.push, Channel.email],
    },
    Role.psychologist: {"help": [Channel.in_app, Channel.push]},
    Role.admin: {"help": [Channel.in_app, Channel.email]},
}


def kind_of(name: str) -> Kind:
    return KINDS.get(name, KINDS["help.alert"] if name.startswith("help.") else Kind("other"))


# ---- writing notifications (in the caller's transaction) -----------------------------------


def _insert_unique(session: Session, notification: Notification) -> Notification | None:
    """Adds ``notification``; None when its event or digest key is already taken."""
    try:
        with session.begin_nested():
            session.add(notification)
            session.flush()
    except IntegrityError:
        return None
    return notification


def _by_event_key(session: Session, key: str) -> Notification | None:
    return session.exec(select(Notification).where(Notification.event_key == key)).first()


def record(
    session: Session,
    recipient_id: uuid.UUID,
    kind: str,
    data: dict[str, Any],
    *,
    school_id: uuid.UUID | None = None,
    event_key: str | None = None,
    visible_at: datetime | None = None,
    channels: tuple[Channel, ...] | None = None,
) -> Notification | None:
    """Tells ``recipient_id`` about ``kind`` once (per ``event_key``, when given).

    Help and safety notices are never written for a guardian: parents are not told
    anything about their child's help requests, whatever a caller asks.
    """
    recipient = session.get(User, recipient_id)
    if recipient is None or not recipient.is_active:
        return None
    if recipient.role is Role.guardian and kind_of(kind).category == "help":
        log.error("refused a help notification to a guardian", extra={"kind": kind})
        return None
    if event_key is not None:
        existing = _by_event_key(session, event_key)
        if existing is not None:
            return existing
    now = clock.now()
    notification = Notification(
        recipient_id=recipient_id,
        school_id=school_id,
        kind=kind,
        safety=kind_of(kind).safety,
        data=data,
        event_key=event_key,
        channels=[c.value for c in channels] if channels else None,
        created_at=now,
        visible_at=max(visible_at or now, now),
    )
    if event_key is not None:
        if _insert_unique(session, notification) is None:
            return _by_event_key(session, event_key)
    else:
        session.add(notification)
        session.flush()
    _dispatch_later(session, notification)
    return notification


def add_to_digest(
    session: Session, recipient_id: uuid.UUID, kind: str, digest_key: str, data: dict[str, Any]
) -> None:
    """Counts one more event into the recipient's open digest, or opens one.

    The digest closes (and is sent) ``digest_minutes`` after it opened; events
    after that open the next digest.
    """
    for _ in range(3):
        bumped = session.exec(
            update(Notification)
            .where(col(Notification.digest_key) == digest_key)
            .values(count=col(Notification.count) + 1)
            .execution_options(synchronize_session=False)
        )
        if bumped.rowcount:
            return
        recipient = session.get(User, recipient_id)
        if recipient is None:
            return
        opened = _insert_unique(
            session,
            Notification(recipient_id=recipient_id, kind=kind, data=data, digest_key=digest_key),
        )
        if opened is not None:
            _dispatch_later(session, opened)
            return
    raise RuntimeError(f"could not add to digest {digest_key!r}")


def record_event(
    session: Session,
    kind: str,
    school_id: uuid.UUID | None,
    data: dict[str, Any],
    *,
    event_key: str | None = None,
) -> Notification | None:
    """An event for partner webhooks only (no person), written when someone listens for it."""
    wanted = [e for e in _endpoints(session, school_id) if kind in e.events]
    if not wanted:
        return None
    notification = Notification(
        recipient_id=None, school_id=school_id, kind=kind, data=data, event_key=event_key
    )
    if event_key is not None:
        if _insert_unique(session, notification) is None:
            return None
    else:
        session.add(notification)
        session.flush()
    _dispatch_later(session, notification)
    return notification


def _dispatch_later(session: Session, notification: Notification) -> None:
    jobs.enqueue(
        session,
        DISPATCH,
        {"notification_id": str(notification.id)},
        run_at=notification.visible_at,
        dedupe_key=f"{DISPATCH}:{notification.id}",
        max_attempts=12,
    )
    announce(session, notification)


def announce(session: Session, notification: Notification) -> None:
    """The live-update hook: a signed-in client hears "notification <id>" and fetches it.

    Published inside this transaction (delivered on commit); a notification held
    until later (``visible_at``) is found in the feed when it is due.
    """
    if notification.visible_at <= clock.now():
        live.notified(session, notification)


def send_transactional_sms(
    session: Session,
    phone: str,
    template: str,
    params: list[str],
    *,
    language: str = "zh",
    purpose: str = "verification",
) -> uuid.UUID:
    """Queues one SMS now: never digested, never held by quiet hours, retried like a safety alert.

    For one-time codes (phone verification at registration, password reset).
    ``template`` names an entry of ``templates.SMS_TEXT`` whose provider id is set in
    ``VOICEBRIDGE_NOTIFICATIONS__SMS__TEMPLATES``; ``params`` fill its variables. The
    words are erased from the database once the provider has them. Returns the
    delivery id (its ``state`` tells whether it went). Call it inside the transaction
    that records the code, so the SMS exists only if the code does.
    """
    delivery_id = uuid.uuid4()
    delivery = Delivery(
        id=delivery_id,
        channel=Channel.sms,
        target=phone,
        idempotency_key=f"sms:{purpose}:{delivery_id}",
        safety=False,
        max_attempts=4,
        params={"template": template, "params": list(params), "language": language},
    )
    session.add(delivery)
    session.flush()
    _enqueue_delivery(session, delivery, urgent=True)
    return delivery_id


def _enqueue_delivery(session: Session, delivery: Delivery, *, urgent: bool = False) -> None:
    jobs.enqueue(
        session,
        DELIVER_SAFETY if delivery.safety or urgent else DELIVER,
        {"delivery_id": str(delivery.id)},
        run_at=delivery.due_at,
        dedupe_key=f"delivery:{delivery.id}",
        # The handler decides when a delivery is dead (and escalates); the job keeps
        # a little slack for runs that crashed before they could count themselves.
        max_attempts=delivery.max_attempts + 2,
    )


# ---- planning deliveries (in the dispatch job) ---------------------------------------------


def preference(session: Session, user_id: uuid.UUID) -> Preference:
    found = session.get(Preference, user_id)
    return found if found is not None else Preference(user_id=user_id)


def channels_for(user: User, pref: Preference, kind: str) -> list[Channel]:
    policy = kind_of(kind)
    if user.role is Role.child:
        return [Channel.in_app]  # shared school tablets: a child is told only in the app
    if policy.fixed:
        return list(policy.fixed)
    chosen = pref.channels.get(policy.category)
    if chosen is None:
        return list(DEFAULTS.get(user.role, {}).get(policy.category, _IN_APP))
    picked = [Channel(c) for c in chosen if c in {x.value for x in CHOOSABLE}]
    return [Channel.in_app, *[c for c in picked if c is not Channel.in_app]]


def phone_of(user: User, pref: Preference) -> str | None:
    if pref.phone:
        return pref.phone
    login = user.login or ""
    return login if login.startswith("+") and login[1:].isdigit() else None


def email_of(user: User, pref: Preference) -> str | None:
    if pref.email:
        return pref.email
    login = user.login or ""
    return login if "@" in login else None


def timezone_of(session: Session, user: User, pref: Preference, fallback: str) -> str:
    """The person's own zone, else their school's (staff, children, a guardian's child's)."""
    from voicebridge.auth import policy
    from voicebridge.help.models import PsychologistProfile
    from voicebridge.schools.models import Child, School

    if pref.timezone:
        return pref.timezone
    school_id: uuid.UUID | None = None
    if user.role is Role.staff:
        ids = policy.staff_school_ids(session, user)
        school_id = ids[0] if ids else None
    elif user.role is Role.child:
        child = session.get(Child, user.id)
        school_id = child.school_id if child else None
    elif user.role is Role.guardian:
        children = policy.guardian_child_ids(session, user)
        child = session.get(Child, children[0]) if children else None
        school_id = child.school_id if child else None
    elif user.role is Role.psychologist:
        profile = session.get(PsychologistProfile, user.id)
        if profile is not None:
            return profile.timezone
    school = session.get(School, school_id) if school_id else None
    return school.timezone if school is not None else fallback


def due_time(
    session: Session, settings: NotificationSettings, user: User, pref: Preference, now: datetime
) -> datetime:
    tz = quiet.zone(timezone_of(session, user, pref, settings.default_timezone), "Asia/Shanghai")
    start = pref.quiet_start or settings.quiet_start
    end = pref.quiet_end or settings.quiet_end
    return quiet.quiet_until(now, tz, start, end) or now


def _new_delivery(
    notification: Notification,
    channel: Channel,
    target: str,
    target_id: str,
    due: datetime,
    settings: NotificationSettings,
) -> Delivery:
    return Delivery(
        notification_id=notification.id,
        recipient_id=notification.recipient_id,
        channel=channel,
        target=target,
        idempotency_key=f"{notification.id}:{channel.value}:{target_id}",
        safety=notification.safety,
        max_attempts=settings.safety_max_attempts if notification.safety else settings.max_attempts,
        due_at=due,
    )


def _endpoints(session: Session, school_id: uuid.UUID | None) -> list[WebhookEndpoint]:
    rows = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.active == True)).all()  # noqa: E712
    return [e for e in rows if e.school_id is None or e.school_id == school_id]


def plan(
    session: Session, settings: NotificationSettings, notification: Notification
) -> list[Delivery]:
    """Writes the deliveries of ``notification`` (once) and enqueues a job for each."""
    already = session.exec(
        select(Delivery.id).where(Delivery.notification_id == notification.id)
    ).first()
    if already is not None:
        return []
    now = clock.now()
    deliveries: list[Delivery] = []
    unreachable: list[Delivery] = []
    if notification.recipient_id is None:
        for endpoint in _endpoints(session, notification.school_id):
            if notification.kind in endpoint.events:
                deliveries.append(
                    _new_delivery(
                        notification,
                        Channel.webhook,
                        str(endpoint.id),
                        str(endpoint.id),
                        now,
                        settings,
                    )
                )
    else:
        user = session.get(User, notification.recipient_id)
        if user is None or not user.is_active:
            return []
        pref = preference(session, user.id)
        policy = kind_of(notification.kind)
        wanted = (
            [Channel(c) for c in notification.channels]
            if notification.channels and user.role is not Role.child
            else channels_for(user, pref, notification.kind)
        )
        held = not (policy.safety or policy.urgent)
        due = due_time(session, settings, user, pref, now) if held else now
        for channel in wanted:
            when = due if channel in INTRUSIVE else now
            if channel is Channel.push:
                subs = session.exec(
                    select(PushSubscription).where(PushSubscription.user_id == user.id)
                ).all()
                for sub in subs:
                    deliveries.append(
                        _new_delivery(
                            notification, channel, str(sub.id), str(sub.id), when, settings
                        )
                    )
            elif channel in (Channel.sms, Channel.email):
                address = phone_of(user, pref) if channel is Channel.sms else email_of(user, pref)
                if address is not None:
                    deliveries.append(
                        _new_delivery(notification, channel, address, channel.value, when, settings)
                    )
                elif notification.safety:
                    # A safety alert that has nowhere to go has failed: record it and escalate.
                    missing = _new_delivery(notification, channel, "", channel.value, now, settings)
                    missing.state = DeliveryState.dead
                    missing.last_error = (
                        f"no {'phone number' if channel is Channel.sms else 'e-mail address'}"
                    )
                    unreachable.append(missing)
    for delivery in [*deliveries, *unreachable]:
        session.add(delivery)
    session.flush()
    for delivery in deliveries:
        _enqueue_delivery(session, delivery)
    for delivery in unreachable:
        undelivered(session, delivery)
    return deliveries


# ---- a safety alert that did not arrive ----------------------------------------------------


def undelivered(session: Session, delivery: Delivery) -> None:
    """Escalates a dead safety delivery to the next people, and tells the admins.

    The next people are the supervisors (and, for an alert to a school, that
    school's admin staff) other than the person who was not reached; admins are
    told in the app and by e-mail. An alert about an alert that did not arrive is
    not escalated again (it would loop); it stays on the admins' list of failures.
    """
    from voicebridge.help import escalation
    from voicebridge.schools.models import StaffMembership, StaffRole

    source = (
        session.get(Notification, delivery.notification_id) if delivery.notification_id else None
    )
    if source is None or source.recipient_id is None:
        return
    if source.kind == "safety.undelivered":
        log.error("an undelivered-alert notice did not arrive either", extra={"id": str(source.id)})
        return
    missed = session.get(User, source.recipient_id)
    admins = list(
        session.exec(
            select(User.id).where(User.role == Role.admin, col(User.disabled_at).is_(None))
        )
    )
    people = [p.user_id for p in escalation.supervisors(session)]
    if source.school_id is not None:
        people += list(
            session.exec(
                select(StaffMembership.user_id).where(
                    StaffMembership.school_id == source.school_id,
                    StaffMembership.role == StaffRole.admin,
                    col(StaffMembership.ended_at).is_(None),
                )
            )
        )
    data = {
        "about": str(source.id),
        "who": missed.display_name if missed is not None else "",
        "channel": delivery.channel.value,
        "request_id": source.data.get("request_id"),
    }
    for person in dict.fromkeys([*people, *admins]):
        if person == source.recipient_id:
            continue
        record(
            session,
            person,
            "safety.undelivered",
            data,
            school_id=source.school_id,
            event_key=f"undelivered:{source.id}:{person}",
            # Admins are told in the app and by e-mail; the next people on every channel.
            channels=(Channel.in_app, Channel.email) if person not in people else None,
        )
    record_event(
        session,
        "safety.undelivered",
        source.school_id,
        {"notification_id": str(source.id), "school_id": str(source.school_id or "")},
        event_key=f"undelivered-event:{source.id}",
    )
