"""Issue 13.2: no credential or code is kept under an Idempotency-Key, a replayed refresh
is the reuse it is, and a replay re-checks the caller first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.conftest import make_settings
from tests.factories import PASSWORD, Factory
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.app import create_app
from voicebridge.db import make_engine
from voicebridge.families import service as families
from voicebridge.idempotency import service
from voicebridge.idempotency.models import IdempotencyRecord


@pytest.fixture
def world(committed_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine, Factory]]:
    settings = make_settings(tmp_path)
    engine = make_engine(committed_url)
    app = create_app(settings, engine=engine)
    with Session(engine, expire_on_commit=False) as session, TestClient(app) as client:
        yield client, engine, Factory(session, settings)
    engine.dispose()


def _records(engine: Engine) -> list[IdempotencyRecord]:
    with Session(engine) as session:
        return list(session.exec(select(IdempotencyRecord)).all())


def test_replayed_refresh_is_detected_as_reuse(world: tuple[TestClient, Engine, Factory]) -> None:
    client, engine, factory = world
    user = factory.user(Role.guardian)
    factory.session.commit()
    tokens = client.post("/api/v1/auth/login", json={"login": user.login, "password": PASSWORD})
    refresh = {"refresh_token": tokens.json()["refresh_token"]}
    key = {"Idempotency-Key": "refresh-1"}
    first = client.post("/api/v1/auth/refresh", json=refresh, headers=key)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    again = client.post("/api/v1/auth/refresh", json=refresh, headers=key)
    assert again.status_code == 401
    assert "reused" in again.json()["detail"]
    # The whole sign-in ended, the pair the first answer gave included.
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert me.status_code == 401
    assert _records(engine) == []


def test_no_token_or_code_is_kept_and_a_replay_says_so(
    world: tuple[TestClient, Engine, Factory],
) -> None:
    client, engine, factory = world
    school = factory.school()
    staff = factory.staff(school)
    child = factory.child(school)
    factory.session.commit()
    h = {**factory.headers(staff)}
    factory.session.commit()
    invite = client.post(
        f"/api/v1/children/{child.id}/invitations",
        json={"relation": "mother", "note": "ID checked"},
        headers={**h, "Idempotency-Key": "invite-1"},
    )
    assert invite.status_code == 201, invite.text
    device = client.post(
        f"/api/v1/schools/{school.id}/devices",
        json={"name": "Tablet"},
        headers={**h, "Idempotency-Key": "device-1"},
    )
    assert device.status_code == 201
    login = client.post(
        "/api/v1/auth/login",
        json={"login": staff.login, "password": PASSWORD},
        headers={"Idempotency-Key": "login-1"},
    )
    secrets = [
        invite.json()["code"],
        device.json()["device_token"],
        login.json()["access_token"],
        login.json()["refresh_token"],
    ]
    records = _records(engine)
    assert len(records) == 2
    for record in records:
        assert record.secret
        assert record.body is None
        assert record.headers is None
        stored = repr(record.model_dump())
        assert not any(s in stored for s in secrets)
    replay = client.post(
        f"/api/v1/children/{child.id}/invitations",
        json={"relation": "mother", "note": "ID checked"},
        headers={**h, "Idempotency-Key": "invite-1"},
    )
    assert replay.status_code == 409
    assert replay.json()["type"].endswith("/idempotency-secret-not-replayed")
    assert invite.json()["code"] not in replay.text


def test_a_replay_rechecks_the_caller(world: tuple[TestClient, Engine, Factory]) -> None:
    client, _engine, factory = world
    school = factory.school()
    staff = factory.staff(school)
    child = factory.child(school)
    guardian, link = factory.guardian_of(child)
    h = {**factory.headers(guardian), "Idempotency-Key": "thread-1"}
    factory.session.commit()
    url = f"/api/v1/children/{child.id}/thread"
    first = client.post(url, headers=h)
    assert first.status_code == 200, first.text
    replay = client.post(url, headers=h)
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    # The school revokes the link: the stored answer is no longer hers to see.
    families.revoke_link(factory.session, link, staff.id, "court order")
    factory.session.commit()
    refused = client.post(url, headers=h)
    assert refused.status_code == 404
    assert "idempotent-replayed" not in refused.headers
    # Signed out: the replay is refused too.
    token = h["Authorization"]
    client.post("/api/v1/auth/logout", headers={"Authorization": token})
    assert client.post(url, headers=h).status_code == 401


def test_a_stale_claim_from_another_host_is_taken_over_after_the_lease(
    world: tuple[TestClient, Engine, Factory],
) -> None:
    _client, engine, _factory = world
    lease = timedelta(seconds=60)
    args = ("user:x", "k-1", "POST", "/api/v1/x", "0" * 64)
    far = "another-host:4242:777"
    first = service.claim(engine, *args, holder=far, lease=lease)
    assert first.outcome is service.Claim.claimed
    # Alive elsewhere, within the lease: the copy waits.
    me = service.holder_id()
    assert service.claim(engine, *args, holder=me, lease=lease).outcome is service.Claim.in_progress
    fake = clock.FakeClock(clock.now() + timedelta(seconds=61))
    clock.set_clock(fake)
    try:
        taken = service.claim(engine, *args, holder=me, lease=lease)
    finally:
        clock.set_clock(None)
    assert taken.outcome is service.Claim.claimed
    assert taken.taken_over
    # The slow original can no longer record its answer: its change rolls back.
    answer = service.Answer(201, "application/json", {}, b"{}", False)
    with Session(engine) as session:
        assert not service.record_answer(session, first.record_id or taken.record_id, far, answer)
        assert service.record_answer(session, taken.record_id, me, answer)  # type: ignore[arg-type]
        session.commit()
    assert service.claim(engine, *args, holder=far, lease=lease).outcome is service.Claim.replay


def test_a_claim_whose_process_is_gone_is_taken_over_at_once() -> None:
    assert not service.holder_gone(service.holder_id())
    host = service.holder_id().rsplit(":", 2)[0]
    assert service.holder_gone(f"{host}:999999999:1")
    assert not service.holder_gone("elsewhere:1:1")
