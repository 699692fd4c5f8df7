"""A demo school with staff, a class, children, a device and a verified guardian."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from voicebridge.accounts import service as accounts
from voicebridge.accounts.models import Role, User
from voicebridge.auth import service as auth
from voicebridge.auth.passwords import Passwords
from voicebridge.config import Settings
from voicebridge.families import service as families
from voicebridge.families.models import Relation
from voicebridge.families.schemas import CONSENT_PURPOSES
from voicebridge.schools import service as schools
from voicebridge.schools.models import StaffRole

DEMO_PASSWORD = "demo-password"
DEMO_PIN = "1234"


@dataclass
class DemoInfo:
    created: bool
    admin_login: str
    staff_login: str
    guardian_login: str
    password: str
    device_token: str | None
    child_id: str | None
    pin: str


def seed(session: Session, settings: Settings) -> DemoInfo:
    """Idempotent: a second run finds the demo admin and changes nothing."""
    passwords = Passwords(settings.auth)
    admin_login, staff_login, guardian_login = (
        "admin@demo.voicebridge",
        "teacher@demo.voicebridge",
        "+8613800138000",
    )
    if session.exec(select(User).where(User.login == admin_login)).first() is not None:
        return DemoInfo(
            False, admin_login, staff_login, guardian_login, DEMO_PASSWORD, None, None, DEMO_PIN
        )
    admin = accounts.create_user(
        session,
        passwords,
        role=Role.admin,
        login=admin_login,
        display_name="Demo admin",
        password=DEMO_PASSWORD,
    )
    school = schools.create_school(
        session,
        "Hope Primary Boarding School",
        "Guizhou, Bijie",
        "Asia/Shanghai",
        [{"weekday": d, "start": "18:30", "end": "19:30"} for d in range(5)],
    )
    _, teacher = schools.add_staff(
        session,
        passwords,
        school,
        login=staff_login,
        display_name="Teacher Wang",
        password=DEMO_PASSWORD,
        role=StaffRole.admin,
        is_safeguarding_contact=True,
    )
    grade3 = schools.create_class(session, school, "Grade 3")
    child = schools.enrol_child(
        session,
        passwords,
        school,
        given_name="Xiaoming",
        family_name="Li",
        class_id=grade3.id,
        birth_year=2018,
        pin=DEMO_PIN,
    )
    schools.enrol_child(
        session,
        passwords,
        school,
        given_name="Fang",
        family_name="Zhang",
        class_id=grade3.id,
        birth_year=2017,
        pin="5678",
    )
    _, device_token = auth.register_device(
        session, settings.auth, school.id, "Library tablet", admin.id
    )
    guardian = accounts.create_user(
        session,
        passwords,
        role=Role.guardian,
        login=guardian_login,
        display_name="Li Qiang",
        password=DEMO_PASSWORD,
    )
    _, code = families.issue_invitation(
        session, settings.auth, child, Relation.father, "demo", teacher.id
    )
    families.redeem(
        session,
        settings.auth,
        guardian,
        code,
        notice_version="2026-09",
        purposes=list(CONSENT_PURPOSES),
        retention_days=365,
        agreed=True,
    )
    session.flush()
    return DemoInfo(
        True,
        admin_login,
        staff_login,
        guardian_login,
        DEMO_PASSWORD,
        device_token,
        str(child.id),
        DEMO_PIN,
    )
