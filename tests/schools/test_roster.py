"""A class roster from CSV: a preview naming every bad row, then all children or none."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import Factory
from voicebridge.schools.models import Child, StaffRole


def _roster(bad: bool) -> str:
    lines = ["名,姓,班级,出生年份,PIN"]
    for i in range(40):
        lines.append(f"学生{i},王,三年级一班,2016,{1000 + i}")
    if bad:
        lines[5] = "学生4,王,三年级一班,1890,1004"  # impossible year
        lines[12] = ",王,三年级一班,2016,1011"  # no given name
        lines[30] = "学生29,王,三年级一班,2016,12"  # PIN too short
    return "\n".join(lines) + "\n"


def test_staff_see_each_bad_row_fix_them_and_enrol_forty(
    client: TestClient, session: Session, factory: Factory
) -> None:
    school = factory.school()
    teacher = factory.staff(school, StaffRole.teacher)
    headers = factory.headers(teacher)
    base = f"/api/v1/schools/{school.id}/roster"

    preview = client.post(base + "/preview", json={"csv": _roster(bad=True)}, headers=headers)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["valid"], body["invalid"]) == (37, 3)
    bad = {row["line"]: row["errors"] for row in body["rows"] if row["errors"]}
    assert sorted(bad) == [6, 13, 31]
    assert "birth_year" in bad[6][0]
    assert "given_name" in bad[13][0]
    assert "pin" in bad[31][0]
    assert body["rows"][0]["new_class"] is True

    refused = client.post(base, json={"csv": _roster(bad=True)}, headers=headers)
    assert refused.status_code == 422
    assert [r["line"] for r in refused.json()["rows"]] == [6, 13, 31]
    assert session.exec(select(Child).where(Child.school_id == school.id)).first() is None

    made = client.post(base, json={"csv": _roster(bad=False)}, headers=headers)
    assert made.status_code == 201, made.text
    assert len(made.json()) == 40
    assert len(session.exec(select(Child).where(Child.school_id == school.id)).all()) == 40
    again = client.post(base + "/preview", json={"csv": _roster(bad=False)}, headers=headers)
    assert again.json()["invalid"] == 40  # each is "already enrolled"


def test_a_roster_without_pins_gets_generated_ones(client: TestClient, factory: Factory) -> None:
    school = factory.school()
    headers = factory.headers(factory.staff(school))
    made = client.post(
        f"/api/v1/schools/{school.id}/roster",
        json={"csv": "given_name,family_name,class,birth_year\nLan,Zhou,Grade 3,2017\n"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    pin = made.json()[0]["pin"]
    assert pin is not None
    assert len(pin) == 4
    assert pin.isdigit()


def test_a_file_without_the_columns_is_refused(client: TestClient, factory: Factory) -> None:
    school = factory.school()
    headers = factory.headers(factory.staff(school))
    response = client.post(
        f"/api/v1/schools/{school.id}/roster/preview",
        json={"csv": "name;class\nLan;3\n"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
