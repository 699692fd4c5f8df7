from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import User
from voicebridge.clock import FakeClock, set_clock
from voicebridge.messages import service
from voicebridge.messages.models import Thread
from voicebridge.schools.models import Child, School, SchoolClass


@dataclass
class Family:
    school: School
    school_class: SchoolClass
    child: Child
    child_user: User
    guardian: User
    staff: User
    thread: Thread


@pytest.fixture
def family(session: Session, factory: Factory) -> Family:
    school = factory.school()
    staff = factory.staff(school, name="Teacher Wang")
    school_class = factory.school_class(school, "Grade 3")
    child = factory.child(school, school_class)
    guardian, _ = factory.guardian_of(child)
    child_user = session.get(User, child.id)
    assert child_user is not None
    thread = service.open_thread(session, guardian, child, None)
    return Family(school, school_class, child, child_user, guardian, staff, thread)


@pytest.fixture
def app_store(app: FastAPI) -> object:
    """The store the app serves from (the local store from the test settings)."""
    return app.state.store


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    fake = FakeClock(datetime.now(UTC))
    set_clock(fake)
    yield fake
    set_clock(None)
