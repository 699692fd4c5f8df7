"""The impact dashboard: real figures for big enough groups, nothing that points at a child."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.messages.models import Listen, Message, MessageState, Thread, ThreadKind
from voicebridge.schools.models import Child, School

URL = "/api/v1/admin/impact"


def _heard_family_voice(session: Session, factory: Factory, child: Child, minutes: int) -> None:
    guardian, _ = factory.guardian_of(child)
    thread = Thread(
        kind=ThreadKind.family, child_id=child.id, guardian_id=guardian.id, peer_id=guardian.id
    )
    asset = AudioAsset(owner_id=guardian.id, purpose="message", state=AssetState.ready)
    session.add_all([thread, asset])
    session.flush()
    now = clock.now()
    message = Message(
        thread_id=thread.id,
        sender_id=guardian.id,
        asset_id=asset.id,
        state=MessageState.ready,
        ready_at=now,
    )
    session.add(message)
    session.flush()
    session.add(
        Listen(
            message_id=message.id,
            listener_id=child.id,
            heard_ms=minutes * 60_000,
            first_heard_at=now,
            last_heard_at=now,
        )
    )
    session.flush()


def _school(factory: Factory, name: str, region: str, children: int) -> tuple[School, list[Child]]:
    school = factory.school(name)
    school.region = region
    factory.session.add(school)
    factory.staff(school)
    school_class = factory.school_class(school)
    return school, [factory.child(school, school_class, f"C{i}") for i in range(children)]


def test_admin_sees_figures_and_small_cells_are_withheld(
    client: TestClient, session: Session, factory: Factory
) -> None:
    big, big_children = _school(factory, "Big School", "Guizhou", 12)
    small, small_children = _school(factory, "Small School", "Guizhou", 3)
    for child in big_children[:6]:
        _heard_family_voice(session, factory, child, 2)
    _heard_family_voice(session, factory, small_children[0], 5)
    admin = factory.user(Role.admin)
    session.flush()
    response = client.get(URL, params={"weeks": 2}, headers=factory.headers(admin))
    assert response.status_code == 200, response.text
    rows = {(r["label"], r["week"]): r for r in response.json()["rows"]}
    this_week = (clock.now().date() - timedelta(days=clock.now().weekday())).isoformat()
    big_row = rows[("Big School", this_week)]
    assert big_row["children_enrolled"] == 12
    assert big_row["children_reached"] == 6
    assert big_row["family_contact_share"] == 0.5
    assert big_row["family_voice_minutes"] == 12.0
    small_row = rows[("Small School", this_week)]
    # Three children: one listening would be the child who heard their mother.
    assert small_row["children_enrolled"] is None
    assert small_row["family_voice_minutes"] is None
    assert "family_voice_minutes" in small_row["suppressed"]
    # By region the two schools make one group of 15: enough to show.
    region = client.get(
        URL, params={"weeks": 1, "group_by": "region"}, headers=factory.headers(admin)
    ).json()["rows"]
    guizhou = next(r for r in region if r["label"] == "Guizhou")
    assert guizhou["children_enrolled"] == 15
    assert guizhou["children_reached"] == 7
    assert guizhou["family_voice_minutes"] == 17.0


def test_csv_export_marks_withheld_cells(
    client: TestClient, session: Session, factory: Factory
) -> None:
    _school(factory, "=HYPERLINK(evil)", "Yunnan", 2)
    admin = factory.user(Role.admin)
    session.flush()
    response = client.get(URL + "/csv", params={"weeks": 1}, headers=factory.headers(admin))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "week"
    evil = next(r for r in rows if "HYPERLINK" in r[2])
    assert evil[2].startswith("'=")  # never a formula in a spreadsheet
    assert evil[3] == "<5"


def test_only_admins_see_the_dashboard(client: TestClient, factory: Factory) -> None:
    for role in (Role.staff, Role.psychologist, Role.moderator, Role.guardian):
        user = factory.user(role)
        assert client.get(URL, headers=factory.headers(user)).status_code == 403
