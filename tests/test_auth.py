"""Token attacks, refresh rotation, logout, disabled accounts, throttling, PINs."""

from __future__ import annotations

import base64
import json
import time
import uuid

from fastapi.testclient import TestClient
from jose import jwt

from tests.factories import PASSWORD, PIN, Factory
from voicebridge.accounts.models import Role
from voicebridge.auth.keys import configured_kid
from voicebridge.config import Settings


def _login(client: TestClient, login: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert resp.status_code == 200, resp.text
    body: dict[str, str] = resp.json()
    return body


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _claims(
    settings: Settings, user_id: uuid.UUID, sid: str, **changes: object
) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": str(user_id),
        "sid": sid,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_token_attacks_are_refused(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    user = factory.user(Role.guardian)
    tokens = _login(client, user.login or "")
    good = tokens["access_token"]
    assert _me(client, good) == 200
    sid = jwt.get_unverified_claims(good)["sid"]
    key = settings.auth.secret_key
    assert key is not None
    # Every forged token names the real key's id, so each is refused for its own flaw.
    kid = {"kid": configured_kid(key)}
    valid = jwt.encode(_claims(settings, user.id, sid), key, algorithm="HS256", headers=kid)
    assert _me(client, valid) == 200

    alg_none = (
        _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(settings, user.id, sid)) + "."
    )
    assert _me(client, alg_none) == 401
    hs512 = jwt.encode(_claims(settings, user.id, sid), key, algorithm="HS512", headers=kid)
    assert _me(client, hs512) == 401
    no_exp = jwt.encode(
        _claims(settings, user.id, sid, exp=None), key, algorithm="HS256", headers=kid
    )
    assert _me(client, no_exp) == 401
    no_aud = jwt.encode(
        _claims(settings, user.id, sid, aud=None), key, algorithm="HS256", headers=kid
    )
    assert _me(client, no_aud) == 401
    wrong_aud = jwt.encode(
        _claims(settings, user.id, sid, aud="other"), key, algorithm="HS256", headers=kid
    )
    assert _me(client, wrong_aud) == 401
    expired = jwt.encode(
        _claims(settings, user.id, sid, exp=int(time.time()) - 5),
        key,
        algorithm="HS256",
        headers=kid,
    )
    assert _me(client, expired) == 401
    other_key = jwt.encode(
        _claims(settings, user.id, sid), "x" * 48, algorithm="HS256", headers=kid
    )
    assert _me(client, other_key) == 401
    wrong_type = jwt.encode(
        _claims(settings, user.id, sid, typ="refresh"), key, algorithm="HS256", headers=kid
    )
    assert _me(client, wrong_type) == 401
    # A refresh token is not an access token.
    assert _me(client, tokens["refresh_token"]) == 401
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {alg_none}"})
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/unauthorized")


def test_logout_ends_the_token_at_once(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.guardian)
    token = _login(client, user.login or "")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert _me(client, token) == 401


def test_refresh_rotates_and_replay_kills_the_family(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.guardian)
    first = _login(client, user.login or "")
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert _me(client, new["access_token"]) == 200
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # The whole family is dead: the newest tokens too.
    assert _me(client, new["access_token"]) == 401
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


def test_disabled_account_is_refused_on_next_request(client: TestClient, factory: Factory) -> None:
    admin = factory.user(Role.admin)
    user = factory.user(Role.psychologist)
    token = _login(client, user.login or "")["access_token"]
    admin_h = {"Authorization": f"Bearer {_login(client, admin.login or '')['access_token']}"}
    assert client.post(f"/api/v1/users/{user.id}/disable", headers=admin_h).status_code == 200
    assert _me(client, token) == 401
    bad = client.post("/api/v1/auth/login", json={"login": user.login, "password": PASSWORD})
    assert bad.status_code == 401


def test_unknown_user_and_wrong_password_look_the_same(
    client: TestClient, factory: Factory
) -> None:
    user = factory.user(Role.guardian)
    a = client.post("/api/v1/auth/login", json={"login": user.login, "password": "nope-nope"})
    b = client.post("/api/v1/auth/login", json={"login": "+8613100000000", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"]


def test_pin_locks_after_five_and_teacher_resets(client: TestClient, factory: Factory) -> None:
    """Five wrong PINs from two devices lock the PIN (one device alone is only slowed)."""
    school = factory.school()
    staff = factory.staff(school)
    child = factory.child(school)
    _, device_token = factory.device(school)
    _, second_token = factory.device(school)
    dev = {"X-Device-Token": device_token}
    for n in range(4):
        r = client.post(
            "/api/v1/auth/child-login",
            json={"child_id": str(child.id), "pin": "0000"},
            headers={"X-Device-Token": (device_token, second_token)[n % 2]},
        )
        assert r.status_code == 401
    r = client.post(
        "/api/v1/auth/child-login", json={"child_id": str(child.id), "pin": "0000"}, headers=dev
    )
    assert r.status_code == 429
    assert "locked" in r.text
    r = client.post(
        "/api/v1/auth/child-login", json={"child_id": str(child.id), "pin": PIN}, headers=dev
    )
    assert r.status_code == 429, "the right PIN does not unlock a locked PIN"
    staff_h = factory.headers(staff)
    assert (
        client.post(
            f"/api/v1/children/{child.id}/pin", json={"pin": "8642"}, headers=staff_h
        ).status_code
        == 200
    )
    r = client.post(
        "/api/v1/auth/child-login", json={"child_id": str(child.id), "pin": "8642"}, headers=dev
    )
    assert r.status_code == 200


def test_next_child_ends_previous_childs_session(client: TestClient, factory: Factory) -> None:
    school = factory.school()
    cls = factory.school_class(school)
    first, second = factory.child(school, cls, "A"), factory.child(school, cls, "B")
    _, device_token = factory.device(school)
    dev = {"X-Device-Token": device_token}
    t1 = client.post(
        "/api/v1/auth/child-login", json={"child_id": str(first.id), "pin": PIN}, headers=dev
    )
    assert _me(client, t1.json()["access_token"]) == 200
    client.post(
        "/api/v1/auth/child-login", json={"child_id": str(second.id), "pin": PIN}, headers=dev
    )
    assert _me(client, t1.json()["access_token"]) == 401


def test_child_of_another_school_cannot_sign_in_on_this_device(
    client: TestClient, factory: Factory
) -> None:
    school, other = factory.school(), factory.school("Other")
    factory.staff(school)
    stranger = factory.child(other)
    _, device_token = factory.device(school)
    r = client.post(
        "/api/v1/auth/child-login",
        json={"child_id": str(stranger.id), "pin": PIN},
        headers={"X-Device-Token": device_token},
    )
    assert r.status_code == 404


def test_redeem_is_throttled_and_codes_expire(
    client: TestClient, factory: Factory, settings: Settings
) -> None:
    guardian = factory.user(Role.guardian)
    h = factory.headers(guardian)
    consent = {
        "notice_version": "v1",
        "purposes": ["voice_messages"],
        "retention_days": 30,
        "agreed": True,
    }
    for _ in range(settings.auth.invite_max_failures):
        r = client.post(
            "/api/v1/invitations/redeem",
            json={"code": "ABCD-EFGH-JKLM", "consent": consent},
            headers=h,
        )
        assert r.status_code == 404
    r = client.post(
        "/api/v1/invitations/redeem", json={"code": "ABCD-EFGH-JKLM", "consent": consent}, headers=h
    )
    assert r.status_code == 429
