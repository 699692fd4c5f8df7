"""Each channel against a real protocol endpoint on loopback: SMTP, Web Push, SMS, webhooks."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlmodel import Session, select

from tests.factories import Factory
from tests.notifications.conftest import Receivers, contact, run_jobs
from tests.notifications.receivers import TencentSms
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.config import Settings
from voicebridge.notifications import outbox, service
from voicebridge.notifications.channels import Outgoing, SendFailed
from voicebridge.notifications.channels.sms import TencentSmsSender
from voicebridge.notifications.config import SmsSettings
from voicebridge.notifications.metrics import NotificationCollector
from voicebridge.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    PushSubscription,
)
from voicebridge.schools.models import StaffRole


def _deliveries(session: Session, channel: Channel) -> list[Delivery]:
    return list(session.exec(select(Delivery).where(Delivery.channel == channel)).all())


@pytest.mark.parametrize("language", ["zh", "en"])
def test_email_in_the_readers_language_as_text_and_html(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers, language: str
) -> None:
    school = factory.school()
    teacher = factory.staff(school, StaffRole.teacher, name="Teacher Zhao")
    contact(
        session, teacher, receivers, devices=0, language=language, channels={"family": ["email"]}
    )
    child = factory.child(school, name="Xiaohua")
    factory.guardian_of(child)  # issued by the school's first staff member: Teacher Zhao
    run_jobs(session, wired)
    [mail] = receivers.mail.inbox
    subject = str(mail["Subject"])
    assert subject == ("邀请码已使用" if language == "zh" else "Invitation redeemed")
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    markup = mail.get_body(("html",))
    assert plain is not None
    assert markup is not None
    text, html = plain.get_content(), markup.get_content()
    assert "Xiaohua" in text
    assert "Xiaohua" in html
    assert "Li" not in text.replace("linked", "")  # the child's family name (Li) is never sent
    assert "https://voicebridge.test/staff/children/" in html
    [delivery] = _deliveries(session, Channel.email)
    assert mail["X-VoiceBridge-Delivery"] == delivery.idempotency_key
    assert delivery.state is DeliveryState.sent
    assert str(mail["Message-ID"]).endswith("@voicebridge>")


def test_web_push_is_encrypted_for_the_browser_and_signed_with_vapid(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers
) -> None:
    psychologist = factory.user(Role.psychologist, "Dr Chen")
    subs = contact(session, psychologist, receivers, devices=2, language="en")
    request_id = uuid.uuid4()
    outbox.record(session, psychologist.id, "help.offer", {"request_id": str(request_id)})
    outbox.record(session, psychologist.id, "help.critical", {"request_id": str(request_id)})
    run_jobs(session, wired)
    assert receivers.push.rejected == []
    payloads = [a.payload for a in receivers.push.arrivals]
    assert len(payloads) == 4  # two notices on each of two devices
    critical = [p for p in payloads if p["kind"] == "help.critical"]
    assert {p["urgent"] for p in critical} == {True}
    assert {p["sound"] for p in critical} == {"alert"}
    assert critical[0]["url"] == f"https://voicebridge.test/console/help/{request_id}"
    assert critical[0]["title"] == "Urgent: a child needs help now"
    urgency = sorted(h["urgency"] for h in receivers.push.headers_seen)
    assert urgency == ["high", "high", "normal", "normal"]
    for sub in subs:
        session.refresh(sub)
        assert sub.last_success_at is not None


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed(
    session: Session,
    factory: Factory,
    wired: Settings,
    receivers: Receivers,
    status: int,
) -> None:
    guardian = factory.user(Role.guardian, "Mum")
    [sub] = contact(session, guardian, receivers)
    receivers.push.answers[sub.endpoint.rsplit("/", 1)[-1]] = status
    outbox.record(session, guardian.id, "message.reply", {"child_name": "Hua", "thread_id": "t"})
    run_jobs(session, wired)
    gone = select(PushSubscription).where(PushSubscription.id == sub.id)
    assert session.exec(gone).first() is None
    [delivery] = _deliveries(session, Channel.push)
    assert delivery.state is DeliveryState.skipped
    assert str(status) in (delivery.last_error or "")


def test_sms_is_signed_as_tencent_cloud_documents_it(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers
) -> None:
    supervisor = factory.user(Role.psychologist, "Supervisor Zhou")
    contact(session, supervisor, receivers, devices=0, phone="+8613900001111")
    outbox.record(session, supervisor.id, "help.escalation", {"request_id": str(uuid.uuid4())})
    run_jobs(session, wired)
    assert receivers.sms.rejected == []
    [arrival] = receivers.sms.arrivals
    body = arrival.payload
    assert body["PhoneNumberSet"] == ["+8613900001111"]
    assert body["TemplateId"] == "100002"
    assert body["TemplateParamSet"] == []
    assert body["SmsSdkAppId"] == TencentSms.APP_ID
    [delivery] = _deliveries(session, Channel.sms)
    assert body["SessionContext"] == delivery.idempotency_key
    assert delivery.state is DeliveryState.sent
    assert delivery.provider_id  # the provider's SerialNo


def test_a_wrong_secret_is_refused_and_not_retried(receivers: Receivers) -> None:
    settings = SmsSettings(
        backend="tencent",
        endpoint=receivers.sms.url,
        secret_id=TencentSms.SECRET_ID,
        secret_key="not-the-secret",  # type: ignore[arg-type]
        sdk_app_id=TencentSms.APP_ID,
        templates={"verification_code": "1"},
    )
    outgoing = Outgoing(
        key="k1",
        target="+8613900002222",
        kind="transactional",
        safety=False,
        language="zh",
        sms_template="verification_code",
        sms_params=["123456"],
    )
    with pytest.raises(SendFailed) as failed:
        asyncio.run(TencentSmsSender(settings).send(outgoing))
    assert failed.value.retry is False
    assert "AuthFailure.SignatureFailure" in failed.value.reason
    assert receivers.sms.rejected == ["signature mismatch"]


def test_the_official_sdk_passes_the_same_signature_check(receivers: Receivers) -> None:
    """The receiver's check is Tencent's algorithm: the provider's own SDK gets through it."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    http_profile = HttpProfile(endpoint=receivers.sms.url.removeprefix("http://"))
    http_profile.scheme = "http"
    client = sms_client.SmsClient(
        credential.Credential(TencentSms.SECRET_ID, TencentSms.SECRET_KEY),
        "ap-guangzhou",
        ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http_profile),
    )
    request = models.SendSmsRequest()
    request.PhoneNumberSet = ["+8613900003333"]
    request.SmsSdkAppId = TencentSms.APP_ID
    request.SignName = "VoiceBridge"
    request.TemplateId = "100001"
    request.TemplateParamSet = ["246810"]
    request.SessionContext = "sdk"
    response = client.SendSms(request)
    assert response.SendStatusSet[0].Code == "Ok"
    assert receivers.sms.rejected == []


def test_one_time_code_goes_at_once_and_is_not_kept(
    session: Session, wired: Settings, receivers: Receivers, clock_at: clock.FakeClock
) -> None:
    """The function issue 13 calls: not held at 03:00, and the code is erased once sent."""
    clock_at.current = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
    delivery_id = outbox.send_transactional_sms(
        session, "+8613900004444", "verification_code", ["482913"]
    )
    run_jobs(session, wired)
    [arrival] = receivers.sms.arrivals
    assert arrival.payload["TemplateParamSet"] == ["482913"]
    assert arrival.payload["TemplateId"] == "100001"
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    assert delivery.state is DeliveryState.sent
    assert delivery.params is None


def test_webhooks_are_signed_retried_and_replays_refused(
    session: Session,
    factory: Factory,
    wired: Settings,
    receivers: Receivers,
    clock_at: clock.FakeClock,
) -> None:
    admin = factory.user(Role.admin, "Admin")
    school = factory.school()
    endpoint = service.create_endpoint(
        session,
        admin,
        name="Partner NGO",
        url=receivers.webhook.url + "/hook",
        events=["help.escalated", "invitation.redeemed"],
        school_id=school.id,
    )
    receivers.webhook.secret = endpoint.secret
    receivers.webhook.fail_next = 1
    child = factory.child(school, name="Xiaohua")
    factory.guardian_of(child)
    run_jobs(session, wired)
    assert receivers.webhook.arrivals == []  # the first attempt got a 503
    clock_at.advance(seconds=5)
    time.sleep(1.1)  # the backoff is on the fake clock; the signature's seconds are real
    run_jobs(session, wired)
    [arrival] = receivers.webhook.arrivals
    assert arrival.payload["type"] == "invitation.redeemed"
    assert arrival.payload["school_id"] == str(school.id)
    assert "Xiaohua" not in arrival.raw.decode()  # partners get ids, never names
    [(delivery, attempts)] = service.history(session, str(endpoint.id))
    assert delivery.state is DeliveryState.sent
    assert [a.ok for a in attempts] == [False, True]
    assert attempts[0].status_code == 503
    assert arrival.key == delivery.idempotency_key

    # Someone who captured the request sends it again: refused.
    headers, body = receivers.webhook.last_request
    headers = {k: v for k, v in headers.items() if k.lower().startswith("x-voicebridge")}
    answer = httpx.post(receivers.webhook.url + "/hook", content=body, headers=headers)
    assert answer.status_code == 401
    assert receivers.webhook.rejected[-1] == "replayed request"
    # A forged body with a valid old header: refused too.
    forged = json.dumps({**arrival.payload, "type": "forged"}).encode()
    answer = httpx.post(receivers.webhook.url + "/hook", content=forged, headers=headers)
    assert answer.status_code == 401
    assert len(receivers.webhook.arrivals) == 1
    assert session.exec(select(DeliveryAttempt)).all()


def test_metrics_report_deliveries_lag_and_dead_letters(
    session: Session, factory: Factory, wired: Settings, receivers: Receivers
) -> None:
    supervisor = factory.user(Role.psychologist, "Supervisor")
    contact(session, supervisor, receivers, devices=1, phone="+8613900005555")
    receivers.sms.refuse.add("+8613900005555")  # the operator refuses the number: dead at once
    outbox.record(session, supervisor.id, "help.critical", {"request_id": str(uuid.uuid4())})
    run_jobs(session, wired)
    registry = CollectorRegistry()
    registry.register(NotificationCollector(session.connection()))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'voicebridge_notification_deliveries{channel="push",outcome="sent"} 1.0' in text
    assert 'voicebridge_notification_deliveries{channel="sms",outcome="dead"} 1.0' in text
    assert 'voicebridge_notification_dead_letters{channel="sms",safety="true"} 1.0' in text
    lag = 'voicebridge_notification_delivery_lag_seconds_bucket{channel="push",le="+Inf"} 1.0'
    assert lag in text
    assert "voicebridge_notification_oldest_due_seconds 0.0" in text
