"""Withdrawal, revocation and a child leaving: the guardian is told the date, the data
goes on that date, and a renewal before it keeps everything."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from tests.privacy.conftest import World, exists, keys_of, run_jobs, say
from voicebridge.accounts.models import User
from voicebridge.clock import FakeClock
from voicebridge.config import Settings
from voicebridge.families import service as families
from voicebridge.help.models import Category, HelpRequest, RequestState, Urgency
from voicebridge.messages.models import Message, Thread
from voicebridge.privacy.config import PrivacySettings
from voicebridge.privacy.models import Erasure
from voicebridge.schools.models import Child
from voicebridge.storage.s3 import S3ObjectStore

GRACE = PrivacySettings().withdrawal_grace_days


def test_withdrawal_tells_the_date_and_deletes_only_that_guardians_thread(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
    client: TestClient,
    factory: Factory,
) -> None:
    mine = [
        say(session, s3_store, world.mother, world.mother_thread),
        say(session, s3_store, world.child_user, world.mother_thread),
    ]
    other = say(session, s3_store, world.father, world.father_thread)
    keys = [k for m in mine for k in keys_of(session, m)]
    response = client.post(
        f"/api/v1/guardian-links/{world.mother_link.id}/withdraw-consent",
        headers=factory.headers(world.mother),
    )
    assert response.status_code == 200, response.text
    due = response.json()["erasure_due_at"]
    assert due is not None
    assert due.startswith((fake_clock.current + timedelta(days=GRACE)).date().isoformat())

    fake_clock.advance(days=GRACE - 1)
    run_jobs(session, settings, s3_store)
    assert all(exists(session, Message, m.id) for m in mine), "deleted before the date given"

    fake_clock.advance(days=2)
    run_jobs(session, settings, s3_store)
    assert not any(exists(session, Message, m.id) for m in mine)
    assert not exists(session, Thread, world.mother_thread.id)
    assert all(s3_store.head(k) is None for k in keys)
    assert exists(session, Message, other.id), "the father's thread with the child was touched"
    assert all(s3_store.head(k) is not None for k in keys_of(session, other))


def test_consent_given_again_before_the_date_keeps_the_thread(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
    client: TestClient,
    factory: Factory,
) -> None:
    kept = say(session, s3_store, world.mother, world.mother_thread)
    headers = factory.headers(world.mother)
    client.post(f"/api/v1/guardian-links/{world.mother_link.id}/withdraw-consent", headers=headers)
    notice = client.get("/api/v1/consent-notice").json()
    assert notice["withdrawal_grace_days"] == GRACE
    assert {p["code"] for p in notice["purposes"]} >= {"voice_messages", "help_requests"}
    assert notice["contact"]
    stale = client.post(
        f"/api/v1/guardian-links/{world.mother_link.id}/consent",
        headers=headers,
        json={
            "notice_version": "2020-01",
            "purposes": ["voice_messages"],
            "retention_days": 90,
            "agreed": True,
        },
    )
    assert stale.status_code == 409, "consent to an old notice was taken"
    renewed = client.post(
        f"/api/v1/guardian-links/{world.mother_link.id}/consent",
        headers=headers,
        json={
            "notice_version": notice["version"],
            "purposes": ["voice_messages"],
            "retention_days": 90,
            "agreed": True,
        },
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["erasure_due_at"] is None
    fake_clock.advance(days=GRACE + 1)
    run_jobs(session, settings, s3_store)
    assert exists(session, Message, kept.id)


def test_a_new_notice_version_asks_guardians_again(
    session: Session, world: World, client: TestClient, factory: Factory, settings: Settings
) -> None:
    headers = factory.headers(world.mother)
    assert not any(
        c["consent_needed"] for c in client.get("/api/v1/me/children", headers=headers).json()
    )
    app_settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = app_settings.model_copy(  # type: ignore[attr-defined]
        update={"privacy": PrivacySettings(notice_version="2027-01")}
    )
    assert all(
        c["consent_needed"] for c in client.get("/api/v1/me/children", headers=headers).json()
    )


def test_revocation_deletes_after_grace(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
    client: TestClient,
    factory: Factory,
) -> None:
    message = say(session, s3_store, world.mother, world.mother_thread)
    response = client.post(
        f"/api/v1/guardian-links/{world.mother_link.id}/revoke",
        headers=factory.headers(world.staff),
        json={"reason": "Court order"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["erasure_due_at"] is not None
    fake_clock.advance(days=GRACE + 1)
    run_jobs(session, settings, s3_store)
    assert not exists(session, Message, message.id)


def test_a_new_link_before_the_date_keeps_the_pairs_thread(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
    factory: Factory,
) -> None:
    from voicebridge.families.models import Relation
    from voicebridge.families.schemas import CONSENT_PURPOSES

    message = say(session, s3_store, world.mother, world.mother_thread)
    families.revoke_link(session, world.mother_link, world.staff.id, "mistake")
    _, code = families.issue_invitation(
        session, settings.auth, world.child, Relation.mother, None, world.staff.id
    )
    families.redeem(
        session,
        settings.auth,
        world.mother,
        code,
        notice_version="2026-09",
        purposes=list(CONSENT_PURPOSES),
        retention_days=365,
        agreed=True,
    )
    fake_clock.advance(days=GRACE + 1)
    run_jobs(session, settings, s3_store)
    assert exists(session, Message, message.id)


def test_closing_a_childs_record_runs_the_lifecycle_for_the_child(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
    client: TestClient,
    factory: Factory,
) -> None:
    sent = [
        say(session, s3_store, world.mother, world.mother_thread),
        say(session, s3_store, world.father, world.father_thread),
        say(session, s3_store, world.staff, world.school_thread),
    ]
    keys = [k for m in sent for k in keys_of(session, m)]
    sent_ids = [m.id for m in sent]
    case = HelpRequest(
        child_id=world.child.id,
        school_id=world.school.id,
        category=Category.school,
        urgency=Urgency.low,
        state=RequestState.closed,
        closed_at=fake_clock.current,
    )
    session.add(case)
    session.flush()
    case_id, child_id = case.id, world.child.id
    response = client.post(
        f"/api/v1/children/{world.child.id}/close",
        headers=factory.headers(world.staff),
        json={"reason": "Moved to Chengdu"},
    )
    assert response.status_code == 200, response.text
    grace = PrivacySettings().closure_grace_days
    assert response.json()["due_at"].startswith(
        (fake_clock.current + timedelta(days=grace)).date().isoformat()
    )
    # Closed at once: the guardians' links went with it.
    assert client.get("/api/v1/me/children", headers=factory.headers(world.mother)).json() == []

    fake_clock.advance(days=grace + 1)
    run_jobs(session, settings, s3_store)
    assert not any(exists(session, Message, m) for m in sent_ids)
    assert all(s3_store.head(k) is None for k in keys)
    child = session.get(Child, child_id, populate_existing=True)
    user = session.get(User, child_id, populate_existing=True)
    assert child is not None
    assert child.given_name == ""
    assert child.left_at is not None
    assert user is not None
    assert user.display_name == ""
    assert user.disabled_at is not None
    assert exists(session, HelpRequest, case_id), "help cases follow safeguarding retention"
    erasure = session.get(Erasure, uuid.UUID(response.json()["id"]), populate_existing=True)
    assert erasure is not None
    assert erasure.done_at is not None
    assert erasure.counts["messages"] == 3
