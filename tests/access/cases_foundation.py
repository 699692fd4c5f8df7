"""Cases for accounts, auth, schools and families routes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.access.harness import ROLES, Case, Req, World, register
from tests.factories import PASSWORD
from voicebridge.accounts.models import Role
from voicebridge.auth import phone
from voicebridge.auth import service as auth
from voicebridge.families import service as families
from voicebridge.families.models import Relation
from voicebridge.schools import service as schools
from voicebridge.schools.models import StaffRole

EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
A_SCHOOL = {"school_staff", "admin"}
CONSENT = {
    "notice_version": "v1",
    "purposes": ["voice_messages"],
    "retention_days": 30,
    "agreed": True,
}


def _device(w: World) -> dict[str, str]:
    return {"X-Device-Token": w.device_a_token}


def _not_listing(attr: str) -> Any:
    """Outsiders get 200 for list routes, but must not see child_a's side in them."""

    def check(w: World, role: str, response: Any) -> None:
        target = str(getattr(w, attr).id)
        if role in {"other_school_staff", "other_guardian", "psychologist", "moderator", "child"}:
            assert target not in response.text, f"{role} saw {attr}"

    return check


def _refresh_token(w: World) -> None:
    pair = auth.start_session(w.session, w.settings.auth, w.guardian_a, lifetime=timedelta(days=1))
    w.extras["refresh"] = pair.refresh_token


def _phone_code(w: World) -> None:
    w.extras["phone"] = f"+86137{uuid.uuid4().int % 10**8:08d}"
    w.extras["phone_code"] = phone.issue(
        w.session, w.settings.auth, w.extras["phone"], phone.Purpose.register
    )


def _reset_code(w: World) -> None:
    stranger = w.factory.user(Role.guardian, "Stranger")
    assert stranger.login is not None
    w.extras["phone"] = stranger.login
    w.extras["phone_code"] = phone.issue(
        w.session, w.settings.auth, stranger.login, phone.Purpose.password_reset
    )


def _staff_invitation(w: World) -> None:
    w.extras["staff_invitation"] = schools.invite_staff(
        w.session, w.school_a, w.staff_b, StaffRole.teacher, False, w.staff_a.id
    )


def _only_invitee_sees_it(w: World, role: str, response: Any) -> None:
    invitation = str(w.extras["staff_invitation"].id)
    assert (invitation in response.text) == (role == "other_school_staff"), role


def _invitation(w: World) -> None:
    invitation, code = families.issue_invitation(
        w.session, w.settings.auth, w.child_a, Relation.grandparent, None, w.staff_a.id
    )
    w.extras["invitation"] = invitation
    w.extras["code"] = code


def _link(w: World) -> None:
    w.extras["link"] = families.links_of_child(w.session, w.child_a.id)[0][0]


def _membership(w: World) -> None:
    from voicebridge.schools import service as schools

    w.extras["membership"] = schools.list_staff(w.session, w.school_a.id)[0][0]


def _device_row(w: World) -> None:
    device, _ = w.factory.device(w.school_a)
    w.extras["device"] = device


for case in [
    # auth: open routes
    Case(
        "POST",
        "/api/v1/auth/phone-codes",
        lambda w: Req(
            "/api/v1/auth/phone-codes",
            json={"phone": f"+86137{uuid.uuid4().int % 10**8:08d}", "purpose": "register"},
        ),
        EVERYONE,
    ),
    Case(
        "POST",
        "/api/v1/auth/register",
        lambda w: Req(
            "/api/v1/auth/register",
            json={
                "phone": w.extras["phone"],
                "code": w.extras["phone_code"],
                "password": "long-enough-pw",
                "display_name": "New parent",
            },
        ),
        EVERYONE,
        setup=_phone_code,
    ),
    Case(
        "POST",
        "/api/v1/auth/password-reset",
        lambda w: Req(
            "/api/v1/auth/password-reset",
            json={
                "phone": w.extras["phone"],
                "code": w.extras["phone_code"],
                "new_password": "another-long-pw",
            },
        ),
        EVERYONE,
        setup=_reset_code,
        note="Whoever has the SMS code may reset (the code is the proof); a stranger's "
        "account is used so the caller's own headers stay valid.",
    ),
    Case(
        "POST",
        "/api/v1/auth/login",
        lambda w: Req(
            "/api/v1/auth/login", json={"login": w.guardian_a.login, "password": PASSWORD}
        ),
        EVERYONE,
    ),
    Case(
        "POST",
        "/api/v1/auth/refresh",
        lambda w: Req("/api/v1/auth/refresh", json={"refresh_token": w.extras["refresh"]}),
        EVERYONE,
        setup=_refresh_token,
    ),
    Case("POST", "/api/v1/auth/logout", lambda w: Req("/api/v1/auth/logout"), SIGNED_IN),
    Case(
        "POST",
        "/api/v1/auth/child-login",
        lambda w: Req(
            "/api/v1/auth/child-login",
            json={"child_id": str(w.child_a.id), "pin": "2468"},
            headers=_device(w),
            replace_auth=True,
        ),
        EVERYONE,
    ),
    Case(
        "GET",
        "/api/v1/device/roster",
        lambda w: Req("/api/v1/device/roster", headers=_device(w), replace_auth=True),
        EVERYONE,
    ),
    # accounts
    Case("GET", "/api/v1/me", lambda w: Req("/api/v1/me"), SIGNED_IN),
    Case(
        "POST",
        "/api/v1/users",
        lambda w: Req(
            "/api/v1/users",
            json={
                "role": "moderator",
                "login": f"mod-{uuid.uuid4().hex[:6]}@x.org",
                "display_name": "M",
                "password": "long-enough-pw",
            },
        ),
        {"admin"},
    ),
    Case("GET", "/api/v1/users", lambda w: Req("/api/v1/users"), {"admin"}),
    Case(
        "POST",
        "/api/v1/users/{user_id}/disable",
        lambda w: Req(f"/api/v1/users/{w.guardian_a.id}/disable"),
        {"admin"},
    ),
    Case(
        "POST",
        "/api/v1/users/{user_id}/enable",
        lambda w: Req(f"/api/v1/users/{w.guardian_a.id}/enable"),
        {"admin"},
    ),
    # schools
    Case(
        "POST",
        "/api/v1/schools",
        lambda w: Req("/api/v1/schools", json={"name": "New", "region": "Gansu"}),
        {"admin"},
    ),
    Case(
        "GET",
        "/api/v1/schools",
        lambda w: Req("/api/v1/schools"),
        SIGNED_IN,
        check=_not_listing("school_a"),
    ),
    Case(
        "GET",
        "/api/v1/schools/{school_id}",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}"),
        A_SCHOOL,
    ),
    Case(
        "PATCH",
        "/api/v1/schools/{school_id}",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}", json={"region": "Yunnan"}),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/schools/{school_id}/staff",
        lambda w: Req(
            f"/api/v1/schools/{w.school_a.id}/staff",
            json={
                "login": f"t-{uuid.uuid4().hex[:6]}@x.org",
                "display_name": "T",
                "password": "long-enough-pw",
                "role": "teacher",
            },
        ),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/schools/{school_id}/staff",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/staff"),
        A_SCHOOL,
    ),
    Case(
        "DELETE",
        "/api/v1/schools/{school_id}/staff/{membership_id}",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/staff/{w.extras['membership'].id}"),
        A_SCHOOL,
        setup=_membership,
    ),
    Case(
        "POST",
        "/api/v1/schools/{school_id}/classes",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/classes", json={"name": "Grade 9"}),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/schools/{school_id}/classes",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/classes"),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/schools/{school_id}/children",
        lambda w: Req(
            f"/api/v1/schools/{w.school_a.id}/children",
            json={
                "given_name": "Lan",
                "family_name": "Zhou",
                "class_id": str(w.class_a.id),
                "birth_year": 2017,
                "pin": "1357",
            },
        ),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/schools/{school_id}/children",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/children"),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/children/{child_id}",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}"),
        {"child", "own_guardian", "school_staff", "admin"},
    ),
    Case(
        "PATCH",
        "/api/v1/children/{child_id}",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}", json={"given_name": "Mingming"}),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/children/{child_id}/pin",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}/pin", json={"pin": "9753"}),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/schools/{school_id}/devices",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/devices", json={"name": "PC"}),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/schools/{school_id}/devices",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/devices"),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/schools/{school_id}/devices/{device_id}/credential",
        lambda w: Req(
            f"/api/v1/schools/{w.school_a.id}/devices/{w.extras['device'].id}/credential"
        ),
        A_SCHOOL,
        setup=_device_row,
    ),
    Case(
        "GET",
        "/api/v1/me/staff-invitations",
        lambda w: Req("/api/v1/me/staff-invitations"),
        SIGNED_IN,
        setup=_staff_invitation,
        check=_only_invitee_sees_it,
    ),
    Case(
        "POST",
        "/api/v1/staff-invitations/{invitation_id}/accept",
        lambda w: Req(f"/api/v1/staff-invitations/{w.extras['staff_invitation'].id}/accept"),
        {"other_school_staff"},
        setup=_staff_invitation,
        note="Only the invited person (school B's teacher, asked by school A) answers.",
    ),
    Case(
        "POST",
        "/api/v1/staff-invitations/{invitation_id}/decline",
        lambda w: Req(f"/api/v1/staff-invitations/{w.extras['staff_invitation'].id}/decline"),
        {"other_school_staff"},
        setup=_staff_invitation,
    ),
    Case(
        "DELETE",
        "/api/v1/schools/{school_id}/devices/{device_id}",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/devices/{w.extras['device'].id}"),
        A_SCHOOL,
        setup=_device_row,
    ),
    # families
    Case(
        "POST",
        "/api/v1/children/{child_id}/invitations",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}/invitations", json={"relation": "father"}),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/children/{child_id}/invitations",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}/invitations"),
        A_SCHOOL,
    ),
    Case(
        "DELETE",
        "/api/v1/invitations/{invitation_id}",
        lambda w: Req(f"/api/v1/invitations/{w.extras['invitation'].id}"),
        A_SCHOOL,
        setup=_invitation,
    ),
    Case(
        "POST",
        "/api/v1/invitations/redeem",
        lambda w: Req(
            "/api/v1/invitations/redeem", json={"code": w.extras["code"], "consent": CONSENT}
        ),
        {"own_guardian", "other_guardian"},
        setup=_invitation,
    ),
    Case(
        "GET",
        "/api/v1/children/{child_id}/guardians",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}/guardians"),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/guardian-links/{link_id}/revoke",
        lambda w: Req(
            f"/api/v1/guardian-links/{w.extras['link'].id}/revoke", json={"reason": "test"}
        ),
        A_SCHOOL,
        setup=_link,
    ),
    Case(
        "POST",
        "/api/v1/guardian-links/{link_id}/withdraw-consent",
        lambda w: Req(f"/api/v1/guardian-links/{w.extras['link'].id}/withdraw-consent"),
        {"own_guardian"},
        setup=_link,
    ),
    Case(
        "GET",
        "/api/v1/me/children",
        lambda w: Req("/api/v1/me/children"),
        {"own_guardian", "other_guardian"},
        check=_not_listing("child_a"),
    ),
]:
    register(case)
