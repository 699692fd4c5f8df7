"""Bad input gets problem+json and changes nothing (the schema fuzz is tests/test_fuzz.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from tests.conftest import make_settings
from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.app import create_app
from voicebridge.schools.models import Child


def test_bad_input_is_problem_json_and_changes_nothing(
    client: TestClient, factory: Factory, session: Session
) -> None:
    school = factory.school()
    staff = factory.staff(school)
    h = factory.headers(staff)
    before = session.exec(select(func.count()).select_from(Child)).one()
    for body in (
        {
            "given_name": "A",
            "family_name": "B",
            "class_id": "not-a-uuid",
            "birth_year": 2016,
            "pin": "1234",
        },
        {
            "given_name": "A",
            "family_name": "B",
            "class_id": str(school.id),
            "birth_year": 2016,
            "pin": "1234",
        },
        {"given_name": "", "family_name": "B", "birth_year": 1800, "pin": "12"},
    ):
        r = client.post(f"/api/v1/schools/{school.id}/children", json=body, headers=h)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].startswith("https://voicebridge.org/problems/")
    r = client.post(
        f"/api/v1/schools/{school.id}/children",
        content=b"{not json",
        headers={**h, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert session.exec(select(func.count()).select_from(Child)).one() == before
    users = session.exec(
        select(func.count()).select_from(User).where(User.role == Role.child)
    ).one()
    assert users == before


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = client.put("/api/v1/me")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"


def test_request_id_is_echoed(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"


def test_readyz_checks_database_and_store(engine: Engine, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), engine=engine)
    with TestClient(app) as client:
        _check_ready(client, app)


def _check_ready(client: TestClient, app: FastAPI) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert client.get("/metrics").status_code == 200
    root = app.state.store.root
    root.rename(root.with_name("gone"))
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"object_store": "StoreUnavailable"}


def test_odd_cursors_are_invalid_input(client: TestClient, factory: Factory) -> None:
    import base64
    import json

    admin = factory.user(Role.admin)
    h = factory.headers(admin)
    for parts in (
        ["2020-01-01T00:00:00+00:00", 123],
        ["9999-12-31T23:59:59-14:00", "00000000-0000-0000-0000-000000000000"],
        ["0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000000"],
        ["not a time", "x"],
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")
        r = client.get("/api/v1/users", params={"cursor": cursor}, headers=h)
        assert r.status_code == 422, (parts, r.text)
    assert client.get("/api/v1/users", params={"cursor": "%%%"}, headers=h).status_code == 422


def test_absurd_story_numbers_and_dates_are_invalid_input(
    client: TestClient, factory: Factory
) -> None:
    child = factory.child(factory.school())
    guardian, _ = factory.guardian_of(child)
    h = factory.headers(guardian)
    base = {"visibility": "private", "title": "Moon", "child_ids": [str(child.id)]}
    for extra in ({"series_position": 10**20}, {"available_from_local": "0001-01-01T00:00:00"}):
        r = client.post("/api/v1/stories", json={**base, **extra}, headers=h)
        assert r.status_code == 422, (extra, r.text)
