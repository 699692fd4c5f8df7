"""Every route, called as every role, against another family's and another school's data.

Each domain registers a ``Case`` per route in ``tests/access/cases_<domain>.py``.
The test reads the route list from the app, so a route without a case fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.config import Settings
from voicebridge.schools.models import Child, School, SchoolClass, StaffRole

ROLES = (
    "anonymous",
    "child",
    "own_guardian",
    "other_guardian",
    "school_staff",
    "other_school_staff",
    "psychologist",
    "moderator",
    "admin",
)


@dataclass
class World:
    """Two schools, two families. The target of every case is child_a's side."""

    session: Session
    factory: Factory
    settings: Settings
    store: Any
    school_a: School
    school_b: School
    class_a: SchoolClass
    child_a: Child
    child_b: Child
    guardian_a: User
    guardian_b: User
    staff_a: User
    staff_b: User
    psychologist: User
    moderator: User
    admin: User
    device_a_token: str
    extras: dict[str, Any] = field(default_factory=dict)
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def user_for(self, role: str) -> User | None:
        return {
            "child": self.session.get(User, self.child_a.id),
            "own_guardian": self.guardian_a,
            "other_guardian": self.guardian_b,
            "school_staff": self.staff_a,
            "other_school_staff": self.staff_b,
            "psychologist": self.psychologist,
            "moderator": self.moderator,
            "admin": self.admin,
        }.get(role)

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        if role not in self._headers:
            user = self.user_for(role)
            assert user is not None
            self._headers[role] = self.factory.headers(user)
        return self._headers[role]


def build_world(session: Session, factory: Factory, settings: Settings, store: Any) -> World:
    school_a, school_b = factory.school("School A"), factory.school("School B")
    staff_a = factory.staff(school_a, StaffRole.admin, safeguarding=True, name="Staff A")
    staff_b = factory.staff(school_b, StaffRole.admin, safeguarding=True, name="Staff B")
    class_a = factory.school_class(school_a, "Grade 3")
    child_a = factory.child(school_a, class_a, "Ming")
    child_b = factory.child(school_b, name="Hua")
    guardian_a, _ = factory.guardian_of(child_a)
    guardian_b, _ = factory.guardian_of(child_b)
    _, device_token = factory.device(school_a)
    return World(
        session=session,
        factory=factory,
        settings=settings,
        store=store,
        school_a=school_a,
        school_b=school_b,
        class_a=class_a,
        child_a=child_a,
        child_b=child_b,
        guardian_a=guardian_a,
        guardian_b=guardian_b,
        staff_a=staff_a,
        staff_b=staff_b,
        psychologist=factory.user(Role.psychologist, "Dr Chen"),
        moderator=factory.user(Role.moderator, "Moderator"),
        admin=factory.user(Role.admin, "Admin"),
        device_a_token=device_token,
    )


@dataclass
class Req:
    url: str
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    # Replace the caller's headers entirely (device-authenticated routes).
    replace_auth: bool = False


@dataclass
class Case:
    method: str
    path: str
    build: Callable[[World], Req]
    allowed: set[str]
    setup: Callable[[World], None] | None = None
    # Overrides of the expected status for particular roles (e.g. {"admin": 409}).
    expect: dict[str, int] = field(default_factory=dict)
    # Statuses that count as success for allowed roles (default: any 2xx/3xx).
    ok: set[int] | None = None
    # Extra assertion on a response, e.g. that a list shows nothing of child_a to outsiders.
    check: Callable[[World, str, Any], None] | None = None
    # Why the case is shaped as it is, for the reader.
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.method.upper(), self.path)


CASES: dict[tuple[str, str], Case] = {}


def register(case: Case) -> Case:
    unknown = set(case.allowed) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    assert case.key not in CASES, f"two cases for {case.key}"
    CASES[case.key] = case
    return case
