"""Small factories: each makes one thing the way the services would, and returns it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session

from voicebridge.accounts import service as accounts
from voicebridge.accounts.models import Role, User
from voicebridge.auth import service as auth
from voicebridge.auth.models import Device
from voicebridge.auth.passwords import Passwords
from voicebridge.config import Settings
from voicebridge.families import service as families
from voicebridge.families.models import GuardianLink, Relation
from voicebridge.families.schemas import CONSENT_PURPOSES
from voicebridge.schools import service as schools
from voicebridge.schools.models import Child, School, SchoolClass, StaffRole

PASSWORD = "correct horse battery"
PIN = "2468"


class Factory:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.passwords = Passwords(settings.auth)

    def _login(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}@test.voicebridge"

    def user(self, role: Role, name: str = "Someone") -> User:
        login = (
            f"+86139{uuid.uuid4().int % 10**8:08d}"
            if role is Role.guardian
            else self._login(role.value)
        )
        return accounts.create_user(
            self.session,
            self.passwords,
            role=role,
            login=login,
            display_name=name,
            password=PASSWORD,
        )

    def school(self, name: str = "Hope Primary") -> School:
        return schools.create_school(self.session, name, "Guizhou", "Asia/Shanghai", [])

    def staff(
        self,
        school: School,
        role: StaffRole = StaffRole.admin,
        *,
        safeguarding: bool = False,
        name: str = "Teacher",
    ) -> User:
        _, user = schools.add_staff(
            self.session,
            self.passwords,
            school,
            login=self._login("staff"),
            display_name=name,
            password=PASSWORD,
            role=role,
            is_safeguarding_contact=safeguarding,
        )
        return user

    def school_class(self, school: School, name: str | None = None) -> SchoolClass:
        return schools.create_class(self.session, school, name or f"Class {uuid.uuid4().hex[:4]}")

    def child(
        self, school: School, school_class: SchoolClass | None = None, name: str = "Ming"
    ) -> Child:
        school_class = school_class or self.school_class(school)
        return schools.enrol_child(
            self.session,
            self.passwords,
            school,
            given_name=name,
            family_name="Li",
            class_id=school_class.id,
            birth_year=2016,
            pin=PIN,
        )

    def guardian_of(
        self, child: Child, relation: Relation = Relation.mother
    ) -> tuple[User, GuardianLink]:
        guardian = self.user(Role.guardian, "Parent")
        staff_id = self.any_staff_id(child.school_id)
        _, code = families.issue_invitation(
            self.session, self.settings.auth, child, relation, None, staff_id
        )
        link = families.redeem(
            self.session,
            self.settings.auth,
            guardian,
            code,
            notice_version="2026-09",
            purposes=list(CONSENT_PURPOSES),
            retention_days=365,
            agreed=True,
        )
        return guardian, link

    def any_staff_id(self, school_id: uuid.UUID) -> uuid.UUID:
        members = schools.list_staff(self.session, school_id)
        if members:
            return members[0][1].id
        school = schools.get_school(self.session, school_id)
        return self.staff(school).id

    def device(self, school: School) -> tuple[Device, str]:
        return auth.register_device(
            self.session, self.settings.auth, school.id, "Tablet", self.any_staff_id(school.id)
        )

    def token(self, user: User) -> str:
        pair = auth.start_session(
            self.session, self.settings.auth, user, lifetime=timedelta(hours=1)
        )
        return pair.access_token

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}
