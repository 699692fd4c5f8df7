"""The audit trail: staff and admin actions are recorded where they happen, admins read
them with filters, and the hash chain shows any row changed or removed afterwards."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from typer.testing import CliRunner

from tests.factories import Factory
from voicebridge.accounts.models import Role
from voicebridge.privacy import audit
from voicebridge.privacy.models import AuditEvent


def _actions(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, object]]:
    response = client.get("/api/v1/admin/audit", headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_staff_actions_are_recorded_and_admins_filter_them(
    session: Session, client: TestClient, factory: Factory
) -> None:
    school = factory.school()
    staff = factory.staff(school)
    school_class = factory.school_class(school)
    admin = factory.user(Role.admin, "Admin")
    as_staff = factory.headers(staff)
    enrolled = client.post(
        f"/api/v1/schools/{school.id}/children",
        headers=as_staff,
        json={
            "given_name": "Lan",
            "family_name": "Zhao",
            "class_id": str(school_class.id),
            "birth_year": 2017,
            "pin": "1357",
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    child_id = enrolled.json()["id"]
    steps = [
        ("POST", f"/api/v1/children/{child_id}/pin", {"pin": "8642"}),
        ("POST", f"/api/v1/children/{child_id}/invitations", {"relation": "father"}),
        ("POST", f"/api/v1/children/{child_id}/close", {"reason": "Moved"}),
    ]
    for method, url, body in steps:
        answer = client.request(method, url, headers=as_staff, json=body)
        assert answer.status_code < 300, answer.text
    as_admin = factory.headers(admin)
    mine = _actions(client, as_admin, actor_id=str(staff.id))
    assert [e["action"] for e in mine] == ["close_record", "invitation", "pin_reset", "enrol"]
    assert all(e["school_id"] == str(school.id) for e in mine)
    assert all(e["actor_role"] == "staff" for e in mine)
    only = _actions(client, as_admin, action="pin_reset", subject_id=child_id)
    assert [e["subject_id"] for e in only] == [child_id]
    page = client.get(
        "/api/v1/admin/audit", headers=as_admin, params={"actor_id": str(staff.id), "limit": 2}
    ).json()
    assert len(page["items"]) == 2
    rest = _actions(
        client, as_admin, actor_id=str(staff.id), before_seq=str(page["next_before_seq"])
    )
    assert [e["action"] for e in rest] == ["pin_reset", "enrol"]
    assert client.get("/api/v1/admin/audit", headers=as_staff).status_code == 403
    assert audit.verify_chain(session.connection()).ok  # type: ignore[arg-type]


def _tamper(session: Session, statement: str) -> None:
    if session.connection().dialect.name == "postgresql":
        # The trigger refuses it; only someone who can drop the trigger gets this far.
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.exec(text(statement))  # type: ignore[call-overload]
        session.exec(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))  # type: ignore[call-overload]
    session.exec(text(statement))  # type: ignore[call-overload]


def _trail(session: Session, factory: Factory, events: int) -> list[AuditEvent]:
    actor = factory.user(Role.admin, "Admin")
    return [
        audit.record(session, actor, "erase", "user", uuid.uuid4(), note=f"event {i}")
        for i in range(events)
    ]


def test_a_changed_row_breaks_the_chain(session: Session, factory: Factory) -> None:
    events = _trail(session, factory, 4)
    assert audit.verify_chain(session.connection()).ok  # type: ignore[arg-type]
    seq = events[1].seq
    _tamper(session, f"UPDATE audit_events SET actor_role = 'moderator' WHERE seq = {seq}")
    report = audit.verify_chain(session.connection())  # type: ignore[arg-type]
    assert not report.ok
    assert any(f"seq {seq}: contents changed" in p for p in report.problems)


def test_a_removed_row_breaks_the_chain(session: Session, factory: Factory) -> None:
    events = _trail(session, factory, 4)
    _tamper(session, f"DELETE FROM audit_events WHERE seq = {events[2].seq}")
    report = audit.verify_chain(session.connection())  # type: ignore[arg-type]
    assert not report.ok
    assert any(f"seq {events[3].seq}" in p for p in report.problems)


def test_the_command_verifies_the_trail(
    committed_url: str, committed_engine: Engine, tmp_path: Path
) -> None:
    from tests.conftest import make_settings
    from voicebridge import cli
    from voicebridge.config import get_settings

    with Session(committed_engine) as session:
        _trail(session, Factory(session, make_settings(tmp_path)), 3)
        session.commit()
    env = {"VOICEBRIDGE_DATABASE_URL": committed_url, "VOICEBRIDGE_DATA_DIR": str(tmp_path)}
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(cli.app, ["audit", "verify"], env=env)
        assert ok.exit_code == 0, ok.output
        assert "3 events, hash chain verified" in ok.output
        with Session(committed_engine) as session:
            _tamper(session, "UPDATE audit_events SET action = 'enrol' WHERE seq = 2")
            session.commit()
        bad = CliRunner().invoke(cli.app, ["audit", "verify"], env=env)
        assert bad.exit_code == 1
        assert "seq 2: contents changed" in bad.output
    finally:
        get_settings.cache_clear()
