"""A retried create request takes effect once; every retry gets the first answer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from tests.conftest import make_settings
from tests.factories import PASSWORD, Factory
from voicebridge.accounts.models import Role
from voicebridge.app import create_app
from voicebridge.db import make_engine
from voicebridge.schools.models import Child


def test_retried_enrolment_creates_one_child(committed_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = make_engine(committed_url)
    with Session(engine) as session:
        factory = Factory(session, settings)
        school = factory.school()
        staff = factory.staff(school)
        cls = factory.school_class(school)
        other_staff = factory.staff(school)
        session.commit()
        school_id, class_id = school.id, cls.id
        staff_login, other_login = staff.login, other_staff.login
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:

        def headers(login: str | None) -> dict[str, str]:
            r = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        h = {**headers(staff_login), "Idempotency-Key": "enrol-7f3a"}
        body = {
            "given_name": "Lan",
            "family_name": "Zhou",
            "class_id": str(class_id),
            "birth_year": 2017,
            "pin": "1357",
        }
        url = f"/api/v1/schools/{school_id}/children"
        first = client.post(url, json=body, headers=h)
        assert first.status_code == 201, first.text
        again = client.post(url, json=body, headers=h)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        changed = client.post(url, json={**body, "given_name": "Other"}, headers=h)
        assert changed.status_code == 422
        assert changed.json()["type"].endswith("/idempotency-key-reused")
        # The same key from another caller is that caller's own key.
        other = client.post(
            url, json=body, headers={**headers(other_login), "Idempotency-Key": "enrol-7f3a"}
        )
        assert other.status_code == 201
        assert other.json()["id"] != first.json()["id"]
        # A refused request is remembered too: retrying it changes nothing and answers the same.
        bad = {**body, "class_id": str(school_id)}
        h2 = {**h, "Idempotency-Key": "enrol-bad"}
        assert client.post(url, json=bad, headers=h2).status_code == 422
        assert client.post(url, json=bad, headers=h2).status_code == 422
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(Child)).one()
        assert count == 2
    engine.dispose()


def test_invalid_key_is_refused(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.admin)
    r = client.post(
        "/api/v1/schools",
        json={"name": "X", "region": "Y"},
        headers={**factory.headers(user), "Idempotency-Key": "x" * 300},
    )
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-idempotency-key")
