"""Receivers on loopback, settings that point at them, and a worker on the test's connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.conftest import make_settings
from tests.notifications.receivers import MailServer, PushService, TencentSms, WebhookReceiver
from tests.uploads.live import free_port
from voicebridge.accounts.models import User
from voicebridge.clock import FakeClock, set_clock
from voicebridge.config import Settings
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker, load_handlers
from voicebridge.notifications import vapid
from voicebridge.notifications.config import (
    EmailSettings,
    NotificationSettings,
    PushSettings,
    SmsSettings,
)
from voicebridge.notifications.models import Preference, PushSubscription

KINDS = [
    "notifications.dispatch",
    "notifications.deliver",
    "notifications.deliver_safety",
]


@dataclass
class Receivers:
    push: PushService
    sms: TencentSms
    mail: MailServer
    webhook: WebhookReceiver
    vapid_private: str

    def close(self) -> None:
        for r in (self.push, self.sms, self.mail, self.webhook):
            r.close()

    def everything(self) -> list[str]:
        """Every payload that arrived anywhere, decoded (decrypted push, mail bodies)."""
        found = [a.raw.decode() for a in self.push.arrivals + self.sms.arrivals]
        found += [a.raw.decode() for a in self.webhook.arrivals]
        for mail in self.mail.inbox:
            parts = [mail.get_body((kind,)) for kind in ("plain", "html")]
            found.append(str(mail["Subject"]))
            found += [p.get_content() for p in parts if p is not None]
        return found


def notification_settings(r: Receivers, **overrides: object) -> NotificationSettings:
    values: dict[str, object] = {
        "push": PushSettings(vapid_private_key=r.vapid_private),  # type: ignore[arg-type]
        "email": EmailSettings(backend="smtp", host="127.0.0.1", port=r.mail.port, security="none"),
        "sms": SmsSettings(
            backend="tencent",
            endpoint=r.sms.url,
            secret_id=TencentSms.SECRET_ID,
            secret_key=TencentSms.SECRET_KEY,  # type: ignore[arg-type]
            sdk_app_id=TencentSms.APP_ID,
            templates={
                "verification_code": "100001",
                "safety_alert": "100002",
                "undelivered_alert": "100003",
                "family_message": "100004",
                "family_listened": "100005",
                "nudge": "100006",
            },
        ),
    }
    values.update(overrides)
    return NotificationSettings.model_validate(values)


def open_receivers() -> Receivers:
    private, public = vapid.generate()
    return Receivers(
        push=PushService(public),
        sms=TencentSms(),
        mail=MailServer(free_port()),
        webhook=WebhookReceiver(),
        vapid_private=private,
    )


@pytest.fixture(autouse=True)
def clock_at() -> Iterator[FakeClock]:
    """10:00 on a Tuesday in Shanghai, outside anyone's quiet hours; tests move it as needed."""
    fake = FakeClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    set_clock(fake)
    yield fake
    set_clock(None)


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    r = open_receivers()
    yield r
    r.close()


@pytest.fixture
def wired(settings: Settings, receivers: Receivers, tmp_path: Path) -> Settings:
    """The run's settings with every channel pointed at the loopback receivers."""
    return make_settings(
        tmp_path,
        auth=settings.auth,
        notifications=notification_settings(receivers),
        public_base_url="https://voicebridge.test",
    )


def run_jobs(session: Session, settings: Settings, kinds: list[str] | None = None) -> int:
    """Runs due notification jobs on the test's connection (so they see its rows)."""
    load_handlers()
    ctx = JobContext(session.connection(), settings, None)  # type: ignore[arg-type]
    return Worker(ctx, lease=timedelta(minutes=5), kinds=kinds or KINDS).run_until_idle()


def contact(
    session: Session,
    user: User,
    receivers: Receivers,
    *,
    phone: str | None = None,
    email: str | None = None,
    devices: int = 1,
    **prefs: object,
) -> list[PushSubscription]:
    """Gives ``user`` a phone, an e-mail address and push subscriptions at the receivers."""
    pref = session.get(Preference, user.id) or Preference(user_id=user.id)
    pref.phone = phone or f"+86139{uuid.uuid4().int % 10**8:08d}"
    pref.email = email or f"{uuid.uuid4().hex[:8]}@mail.test"
    for key, value in prefs.items():
        setattr(pref, key, value)
    session.add(pref)
    subs = []
    for _ in range(devices):
        endpoint, keys = receivers.push.subscription(uuid.uuid4().hex[:12])
        sub = PushSubscription(
            user_id=user.id, endpoint=endpoint, p256dh=keys.p256dh, auth=keys.auth_b64
        )
        session.add(sub)
        subs.append(sub)
    session.flush()
    return subs
