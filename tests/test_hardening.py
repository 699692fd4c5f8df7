"""Issue 13 items 1, 3, 4 and 5: secrets, throttles that never become lock-outs, phone
ownership, and the probe's smaller findings, each as a regression test."""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt
from sqlmodel import Session, select

from tests.conftest import make_settings
from tests.factories import PASSWORD, PIN, Factory
from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.auth import keys, phone, throttle
from voicebridge.auth.tokens import decode_access_token, issue_access_token
from voicebridge.config import AuthSettings, Environment, Settings
from voicebridge.errors import Unauthorized
from voicebridge.notifications.models import Delivery, Notification
from voicebridge.schools.models import StaffMembership

OLD_DEFAULT_SECRET = "dev-secret-change-me-dev-secret-change-me"


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    fake = clock.FakeClock(clock.now())
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


def _claims(settings: Settings, user_id: uuid.UUID, sid: str) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": str(user_id),
        "sid": sid,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "role": "admin",
        "iat": now,
        "exp": now + 600,
    }


# 1. Secrets ---------------------------------------------------------------------------


def test_a_token_forged_with_the_old_default_secret_is_refused(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    user = factory.user(Role.guardian)
    token = factory.token(user)
    sid = jwt.get_unverified_claims(token)["sid"]  # a live session id, as in the probe
    claims = _claims(settings, user.id, sid)
    for headers in (None, {"kid": keys.configured_kid(OLD_DEFAULT_SECRET)}, {"kid": "k-0"}):
        forged = jwt.encode(claims, OLD_DEFAULT_SECRET, algorithm="HS256", headers=headers)
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    source = Path(keys.__file__).parents[1]
    assert not any(OLD_DEFAULT_SECRET in p.read_text() for p in source.rglob("*.py")), (
        "a signing secret is back in the source"
    )


def test_first_start_generates_a_private_key_and_production_requires_one(tmp_path: Path) -> None:
    dev = Settings(environment=Environment.development, data_dir=tmp_path)
    assert dev.auth.secret_key is None
    ring = keys.load(dev)
    path = tmp_path / keys.KEYRING_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = ring.signing()
    assert len(first.secret) >= 48
    # The next start (another process) uses the same key.
    again = Settings(environment=Environment.development, data_dir=tmp_path)
    assert keys.load(again).signing() == first
    with pytest.raises(ValueError, match="must be set"):
        Settings(environment=Environment.production, data_dir=tmp_path)
    with pytest.raises(ValueError, match="at least 32"):
        Settings(auth=AuthSettings(secret_key="short"), data_dir=tmp_path)


def test_keys_rotate_and_the_old_key_verifies_until_its_tokens_expire(
    tmp_path: Path, fake_clock: clock.FakeClock
) -> None:
    settings = Settings(environment=Environment.development, data_dir=tmp_path)
    keys.load(settings)
    user_id, sid = uuid.uuid4(), uuid.uuid4()
    old, _ = issue_access_token(settings.auth, user_id, sid, "guardian")
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_key = keys.rotate(settings)
    # Another API process (a fresh keyring on the same file) sees the rotation.
    other = Settings(environment=Environment.development, data_dir=tmp_path)
    keys.load(other)
    new, _ = issue_access_token(other.auth, user_id, sid, "guardian")
    assert jwt.get_unverified_header(new)["kid"] == new_key.kid != old_kid
    assert decode_access_token(other.auth, old).user_id == user_id
    assert decode_access_token(other.auth, new).user_id == user_id
    # Once every token of the old key has expired, the old key verifies nothing.
    fake_clock.advance(minutes=settings.auth.access_token_minutes + 3)
    # A fresh claim set under the old key: only the key is wrong now.
    claims = jwt.get_unverified_claims(old) | {"exp": int(fake_clock.current.timestamp()) + 60}
    ring = keys.read_keyring(tmp_path / keys.KEYRING_FILE)
    old_secret = next(k.secret for k in ring if k.kid == old_kid)
    late = jwt.encode(claims, old_secret, algorithm="HS256", headers={"kid": old_kid})
    with pytest.raises(Unauthorized, match="signing key"):
        decode_access_token(other.auth, late)
    # A second rotation drops the expired key from the file.
    keys.rotate(settings)
    assert old_kid not in {k.kid for k in keys.read_keyring(tmp_path / keys.KEYRING_FILE)}


def test_the_keys_rotate_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from voicebridge.cli import app

    for name in list(os.environ):
        if name.startswith("VOICEBRIDGE_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "new signing key k-" in result.output
    assert len(keys.read_keyring(tmp_path / keys.KEYRING_FILE)) == 2


def test_a_rotated_device_credential_replaces_the_old_one(
    client: TestClient, factory: Factory
) -> None:
    school = factory.school()
    staff = factory.staff(school)
    child = factory.child(school)
    device, old = factory.device(school)
    h = factory.headers(staff)
    signed_in = client.post(
        "/api/v1/auth/child-login",
        json={"child_id": str(child.id), "pin": PIN},
        headers={"X-Device-Token": old},
    )
    assert signed_in.status_code == 200
    r = client.post(f"/api/v1/schools/{school.id}/devices/{device.id}/credential", headers=h)
    assert r.status_code == 200, r.text
    new = r.json()["device_token"]
    assert new != old
    assert client.get("/api/v1/device/roster", headers={"X-Device-Token": old}).status_code == 401
    assert client.get("/api/v1/device/roster", headers={"X-Device-Token": new}).status_code == 200
    # The child signed in on the device with the old credential is signed out.
    child_h = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=child_h).status_code == 401


# 3. Throttles ----------------------------------------------------------------------------


def test_a_lock_out_attempt_from_one_client_leaves_the_owner_signing_in_from_another(
    app: FastAPI, factory: Factory, settings: Settings, fake_clock: clock.FakeClock
) -> None:
    owner = factory.user(Role.guardian)
    attacker = TestClient(app, client=("203.0.113.66", 40000))
    phone_of_owner = TestClient(app, client=("198.51.100.7", 50000))
    wrong = {"login": owner.login, "password": "not-the-password"}
    statuses, waits = [], []
    for _ in range(12):
        r = attacker.post("/api/v1/auth/login", json=wrong)
        statuses.append(r.status_code)
        if r.status_code == 429:
            waits.append(int(r.headers["retry-after"]))
            fake_clock.advance(seconds=waits[-1])
    free = settings.auth.login_free_failures
    assert statuses[:free] == [401] * free
    assert 429 in statuses
    assert waits == sorted(waits), "each wait is at least as long as the one before"
    assert waits[-1] > waits[0]
    # The owner, on their own phone, is let in at once with the right password.
    r = phone_of_owner.post("/api/v1/auth/login", json={"login": owner.login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    # The attacker's guessing still waits, longer every time.
    attacker.post("/api/v1/auth/login", json=wrong)
    r = attacker.post("/api/v1/auth/login", json=wrong)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= waits[-1]
    assert r.json()["type"].endswith("/too-many-attempts")


def test_pin_guessing_slows_the_device_and_locks_only_on_several_sources(
    client: TestClient,
    factory: Factory,
    settings: Settings,
    session: Session,
    fake_clock: clock.FakeClock,
) -> None:
    school = factory.school()
    factory.staff(school)
    cls = factory.school_class(school)
    children = [factory.child(school, cls, f"C{i}") for i in range(3)]
    _, tablet = factory.device(school)
    _, library_pc = factory.device(school)

    def guess(device: str, child_id: uuid.UUID, pin: str = "0000") -> int:
        r = client.post(
            "/api/v1/auth/child-login",
            json={"child_id": str(child_id), "pin": pin},
            headers={"X-Device-Token": device},
        )
        if r.status_code == 429 and "locked" not in r.text:
            fake_clock.advance(seconds=int(r.headers["retry-after"]))
        return r.status_code

    # One device guesses one child's PIN over and over: it is slowed down, the
    # child's teachers are told, and the PIN is not locked.
    target = children[0]
    results = [guess(tablet, target.id) for _ in range(12)]
    assert 429 in results
    session.refresh(target)
    assert target.pin_locked_at is None
    assert target.pin_alerted_at is not None
    alerts = session.exec(select(Notification).where(Notification.kind == "pin.guessing")).all()
    assert alerts
    # The child still signs in with the right PIN (after the device's wait).
    fake_clock.advance(minutes=settings.auth.login_window_minutes + 1)
    assert guess(tablet, target.id, PIN) == 200
    # Wrong PINs for another child from two devices lock that child's PIN.
    other = children[1]
    for device in (tablet, library_pc, tablet, library_pc, tablet):
        guess(device, other.id)
    session.refresh(other)
    assert other.pin_locked_at is not None
    # The third child was never touched: the class is not locked out.
    assert guess(library_pc, children[2].id, PIN) == 200


def test_the_shared_rate_limiter_counts_atomically(session: Session) -> None:
    window = timedelta(hours=1)
    key = f"k-{uuid.uuid4()}"
    assert [throttle.hit(session, "test", key, 3, window, "Tests") for _ in range(3)] == [1, 2, 3]
    with pytest.raises(throttle.RateLimited) as refused:
        throttle.hit(session, "test", key, 3, window, "Tests")
    assert refused.value.status == 429
    assert int(refused.value.headers["Retry-After"]) <= 3600


def test_help_requests_are_limited_but_a_child_in_danger_never_is(
    client: TestClient, factory: Factory, settings: Settings, session: Session
) -> None:
    school = factory.school()
    factory.staff(school)
    child = factory.child(school)
    user = session.get(User, child.id)
    assert user is not None
    h = factory.headers(user)
    body = {"category": "lonely", "not_safe": False, "language": "cmn", "text": "I miss mum"}
    limit = settings.limits.help_requests_per_child_hour
    for _ in range(limit):
        r = client.post("/api/v1/help/requests", json=body, headers=h)
        assert r.status_code == 201, r.text
    r = client.post("/api/v1/help/requests", json=body, headers=h)
    assert r.status_code == 429
    assert r.json()["type"].endswith("/rate-limited")
    r = client.post("/api/v1/help/requests", json={**body, "not_safe": True}, headers=h)
    assert r.status_code == 201


# 4. Phone ownership ---------------------------------------------------------------------


def test_registration_needs_the_sms_code_and_tells_nobody_who_has_an_account(
    client: TestClient, factory: Factory, session: Session, settings: Settings
) -> None:
    existing = factory.user(Role.guardian)
    new_phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    answers = [
        client.post("/api/v1/auth/phone-codes", json={"phone": p, "purpose": "register"})
        for p in (new_phone, existing.login)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    # A code went, by SMS, to the new number only.
    sms = session.exec(select(Delivery).where(Delivery.channel == "sms")).all()
    assert [d.target for d in sms] == [new_phone]
    # Without the code (or with a wrong one), registering any number answers alike.
    body = {"password": "long-enough-pw", "display_name": "Someone", "code": "000000"}
    a = client.post("/api/v1/auth/register", json={**body, "phone": new_phone})
    b = client.post("/api/v1/auth/register", json={**body, "phone": existing.login})
    assert a.status_code == b.status_code == 400
    assert a.json()["type"] == b.json()["type"]
    assert "taken" not in a.text + b.text
    code = phone.issue(session, settings.auth, new_phone, phone.Purpose.register)
    r = client.post("/api/v1/auth/register", json={**body, "phone": new_phone, "code": code})
    assert r.status_code == 201, r.text
    assert r.json()["login"] == new_phone
    # A code works once.
    again = client.post("/api/v1/auth/register", json={**body, "phone": new_phone, "code": code})
    assert again.status_code == 400


def test_a_code_dies_after_a_few_wrong_tries_and_requests_are_throttled(
    client: TestClient, session: Session, settings: Settings
) -> None:
    number = f"+86137{uuid.uuid4().int % 10**8:08d}"
    code = phone.issue(session, settings.auth, number, phone.Purpose.register)
    wrong = "000000" if code != "000000" else "111111"
    body = {"phone": number, "password": "long-enough-pw", "display_name": "X"}
    for _ in range(settings.auth.otp_max_attempts):
        r = client.post("/api/v1/auth/register", json={**body, "code": wrong})
        assert r.status_code == 400
    r = client.post("/api/v1/auth/register", json={**body, "code": code})
    assert r.status_code == 400, "the right code after too many wrong ones is void"
    other = f"+86137{uuid.uuid4().int % 10**8:08d}"
    statuses = [
        client.post("/api/v1/auth/phone-codes", json={"phone": other}).status_code
        for _ in range(settings.auth.otp_per_phone_hour + 1)
    ]
    assert statuses[-1] == 429
    assert statuses[:-1] == [202] * settings.auth.otp_per_phone_hour


def test_password_reset_by_sms_code_ends_every_sign_in(
    client: TestClient, factory: Factory, session: Session, settings: Settings
) -> None:
    user = factory.user(Role.guardian)
    assert user.login is not None
    old = factory.headers(user)
    sent = client.post(
        "/api/v1/auth/phone-codes", json={"phone": user.login, "purpose": "password_reset"}
    )
    assert sent.status_code == 202
    code = phone.issue(session, settings.auth, user.login, phone.Purpose.password_reset)
    r = client.post(
        "/api/v1/auth/password-reset",
        json={"phone": user.login, "code": code, "new_password": "a-new-password"},
    )
    assert r.status_code == 204, r.text
    assert client.get("/api/v1/me", headers=old).status_code == 401
    login = {"login": user.login, "password": "a-new-password"}
    assert client.post("/api/v1/auth/login", json=login).status_code == 200


# 5. The probe's smaller findings -------------------------------------------------------


def test_adding_an_existing_account_to_staff_is_an_invitation_it_accepts(
    client: TestClient, factory: Factory, session: Session
) -> None:
    school, other = factory.school(), factory.school("Other")
    admin = factory.staff(school)
    teacher = factory.staff(other)
    body = {"login": teacher.login, "display_name": "X", "role": "teacher"}
    r = client.post(f"/api/v1/schools/{school.id}/staff", json=body, headers=factory.headers(admin))
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "invited"
    member = select(StaffMembership).where(
        StaffMembership.user_id == teacher.id, StaffMembership.school_id == school.id
    )
    assert session.exec(member).first() is None
    teacher_h = factory.headers(teacher)
    [invitation] = client.get("/api/v1/me/staff-invitations", headers=teacher_h).json()
    assert invitation["school_id"] == str(school.id)
    # Nobody else can answer it.
    answer = f"/api/v1/staff-invitations/{invitation['id']}/accept"
    assert client.post(answer, headers=factory.headers(admin)).status_code == 404
    accepted = client.post(answer, headers=teacher_h)
    assert accepted.status_code == 200, accepted.text
    assert session.exec(member).first() is not None
    assert client.get(f"/api/v1/schools/{school.id}", headers=teacher_h).status_code == 200


def test_metrics_need_the_token_or_a_caller_on_this_machine(
    app: FastAPI, settings: Settings
) -> None:
    outsider = TestClient(app, client=("203.0.113.66", 40000))
    local = TestClient(app, client=("127.0.0.1", 40000))
    assert outsider.get("/metrics").status_code == 401
    assert local.get("/metrics").status_code == 200
    original = app.state.settings
    app.state.settings = settings.model_copy(
        update={"ops": settings.ops.model_copy(update={"metrics_token": "t" * 40})}
    )
    try:
        assert local.get("/metrics").status_code == 401
        ok = outsider.get("/metrics", headers={"Authorization": "Bearer " + "t" * 40})
        assert ok.status_code == 200
    finally:
        app.state.settings = original


def test_make_settings_signs_with_a_configured_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.auth.secret_key
    assert not (tmp_path / keys.KEYRING_FILE).exists()
