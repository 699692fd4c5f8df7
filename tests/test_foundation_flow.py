"""The whole path a new school takes, through the HTTP API only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, Factory
from voicebridge.accounts.models import Role
from voicebridge.auth import phone

CONSENT = {
    "notice_version": "2026-09",
    "purposes": ["voice_messages", "stories"],
    "retention_days": 365,
    "agreed": True,
}


def login(client: TestClient, login_name: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/v1/auth/login", json={"login": login_name, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_new_school_walkthrough(client: TestClient, factory: Factory) -> None:
    admin = factory.user(Role.admin, "Admin")
    admin_h = login(client, admin.login or "")

    school = client.post(
        "/api/v1/schools",
        json={
            "name": "Sunshine Boarding School",
            "region": "Sichuan, Liangshan",
            "timezone": "Asia/Shanghai",
            "listening_hours": [{"weekday": 2, "start": "18:30", "end": "19:30"}],
        },
        headers=admin_h,
    )
    assert school.status_code == 201, school.text
    school_id = school.json()["id"]
    staff = client.post(
        f"/api/v1/schools/{school_id}/staff",
        json={
            "login": "teacher.zhao@example.org",
            "display_name": "Teacher Zhao",
            "password": "teacher-password",
            "role": "admin",
            "is_safeguarding_contact": True,
        },
        headers=admin_h,
    )
    assert staff.status_code == 201, staff.text
    staff_h = login(client, "teacher.zhao@example.org", "teacher-password")

    cls = client.post(
        f"/api/v1/schools/{school_id}/classes", json={"name": "Grade 4"}, headers=staff_h
    )
    assert cls.status_code == 201, cls.text
    child = client.post(
        f"/api/v1/schools/{school_id}/children",
        json={
            "given_name": "Xiaohua",
            "family_name": "Wang",
            "class_id": cls.json()["id"],
            "birth_year": 2016,
            "pin": "4321",
        },
        headers=staff_h,
    )
    assert child.status_code == 201, child.text
    child_id = child.json()["id"]
    device = client.post(
        f"/api/v1/schools/{school_id}/devices", json={"name": "Tablet"}, headers=staff_h
    )
    assert device.status_code == 201, device.text
    device_h = {"X-Device-Token": device.json()["device_token"]}
    invite = client.post(
        f"/api/v1/children/{child_id}/invitations",
        json={"relation": "mother", "note": "ID card checked at the school gate"},
        headers=staff_h,
    )
    assert invite.status_code == 201, invite.text

    # She proves her number with the SMS code (read here from the issuing call).
    sent = client.post("/api/v1/auth/phone-codes", json={"phone": "139 0000 1111"})
    assert sent.status_code == 202
    code = phone.issue(
        factory.session, factory.settings.auth, "+8613900001111", phone.Purpose.register
    )
    reg = client.post(
        "/api/v1/auth/register",
        json={
            "phone": "139 0000 1111",
            "code": code,
            "password": "mother-password",
            "display_name": "Wang Mei",
        },
    )
    assert reg.status_code == 201, reg.text
    assert reg.json()["login"] == "+8613900001111"
    mother_h = login(client, "13900001111", "mother-password")
    # Before redeeming, the child does not exist for her.
    assert client.get(f"/api/v1/children/{child_id}", headers=mother_h).status_code == 404
    redeem = client.post(
        "/api/v1/invitations/redeem",
        json={"code": invite.json()["code"].lower().replace("-", " "), "consent": CONSENT},
        headers=mother_h,
    )
    assert redeem.status_code == 201, redeem.text
    link_id = redeem.json()["id"]
    assert client.get(f"/api/v1/children/{child_id}", headers=mother_h).status_code == 200
    mine = client.get("/api/v1/me/children", headers=mother_h).json()
    assert [c["child_id"] for c in mine] == [child_id]
    # The code works once.
    again = client.post(
        "/api/v1/invitations/redeem",
        json={"code": invite.json()["code"], "consent": CONSENT},
        headers=mother_h,
    )
    assert again.status_code == 404

    roster = client.get("/api/v1/device/roster", headers=device_h)
    assert roster.status_code == 200
    assert roster.json()["classes"][0]["children"][0]["id"] == child_id
    child_login = client.post(
        "/api/v1/auth/child-login", json={"child_id": child_id, "pin": "4321"}, headers=device_h
    )
    assert child_login.status_code == 200, child_login.text
    child_h = {"Authorization": f"Bearer {child_login.json()['access_token']}"}
    me = client.get("/api/v1/me", headers=child_h)
    assert me.status_code == 200
    assert me.json()["role"] == "child"
    assert me.headers["cache-control"] == "no-store"

    revoke = client.post(
        f"/api/v1/guardian-links/{link_id}/revoke", json={"reason": "court order"}, headers=staff_h
    )
    assert revoke.status_code == 200, revoke.text
    refused = client.get(f"/api/v1/children/{child_id}", headers=mother_h)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/me/children", headers=mother_h).json() == []
