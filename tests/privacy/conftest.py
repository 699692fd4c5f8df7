"""A school with two families around one child, messages with real audio in SeaweedFS,
and the lifecycle's jobs run on the test's connection with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import Factory
from tests.messages.helpers import finish_message, opus_recording, start_message
from voicebridge.accounts.models import Role, User
from voicebridge.audio.models import AudioAsset
from voicebridge.clock import FakeClock, set_clock
from voicebridge.config import Settings
from voicebridge.families import service as families
from voicebridge.families.models import GuardianLink, Relation
from voicebridge.families.schemas import CONSENT_PURPOSES
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker, ensure_periodic, load_handlers
from voicebridge.messages import service as messages
from voicebridge.messages.models import Message, Thread
from voicebridge.schools.models import Child, School
from voicebridge.storage.s3 import S3ObjectStore

LIFECYCLE_JOBS = ["privacy.retention", "privacy.erase", "privacy.export", "messages.purge_audio"]


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    fake = FakeClock(datetime.now(UTC))
    set_clock(fake)
    yield fake
    set_clock(None)


def link_guardian(
    session: Session,
    factory: Factory,
    child: Child,
    retention_days: int,
    relation: Relation = Relation.mother,
) -> tuple[User, GuardianLink]:
    guardian = factory.user(Role.guardian, f"Parent {relation.value}")
    _, code = families.issue_invitation(
        session, factory.settings.auth, child, relation, None, factory.any_staff_id(child.school_id)
    )
    link = families.redeem(
        session,
        factory.settings.auth,
        guardian,
        code,
        notice_version="2026-09",
        purposes=list(CONSENT_PURPOSES),
        retention_days=retention_days,
        agreed=True,
    )
    return guardian, link


@dataclass
class World:
    school: School
    child: Child
    child_user: User
    mother: User
    mother_link: GuardianLink
    mother_thread: Thread
    father: User
    father_link: GuardianLink
    father_thread: Thread
    school_thread: Thread
    staff: User


@pytest.fixture
def world(session: Session, factory: Factory, fake_clock: FakeClock) -> World:
    """One child; the mother keeps messages 30 days, the father 365."""
    school = factory.school()
    staff = factory.staff(school, name="Teacher Wang")
    child = factory.child(school)
    child_user = session.get(User, child.id)
    assert child_user is not None
    mother, mother_link = link_guardian(session, factory, child, 30, Relation.mother)
    father, father_link = link_guardian(session, factory, child, 365, Relation.father)
    return World(
        school=school,
        child=child,
        child_user=child_user,
        mother=mother,
        mother_link=mother_link,
        mother_thread=messages.open_thread(session, mother, child, None),
        father=father,
        father_link=father_link,
        father_thread=messages.open_thread(session, father, child, None),
        school_thread=messages.open_thread(session, staff, child, None),
        staff=staff,
    )


def say(
    session: Session, store: Any, sender: User, thread: Thread, seconds: float = 4.0
) -> Message:
    """A ready message with a real Opus recording of ``seconds`` in the store."""
    message, asset = start_message(session, sender, thread)
    finish_message(session, store, asset, opus_recording(seconds))
    session.refresh(message)
    return message


def keys_of(session: Session, message: Message) -> list[str]:
    asset = session.get(AudioAsset, message.asset_id)
    assert asset is not None
    return [k for k in (asset.playable_key, asset.original_key) if k]


def exists(session: Session, model: Any, row_id: Any) -> bool:
    """Asks the database, not the session's identity map."""
    return session.exec(select(model).where(model.id == row_id)).first() is not None


def run_jobs(
    session: Session, settings: Settings, store: S3ObjectStore, kinds: list[str] | None = None
) -> int:
    """Claims and runs every due lifecycle job through the real worker path, on the test's
    connection (other domains' jobs, such as notification deliveries, are left queued)."""
    load_handlers()
    kinds = kinds or LIFECYCLE_JOBS
    session.commit()
    ctx = JobContext(session.connection(), settings, store)  # type: ignore[arg-type]
    ensure_periodic(ctx.engine)  # what a starting worker does
    worker = Worker(ctx, lease=timedelta(minutes=5), kinds=kinds)
    return worker.run_until_idle(max_jobs=500)
