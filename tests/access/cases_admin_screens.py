"""Cases for what the staff and admin screens added: roster CSV, impact dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.access.harness import Case, Req, World, register

# The school's own staff and admins (as for enrolling one child).
A_SCHOOL = {"school_staff", "admin"}

ROSTER = "given_name,family_name,class,birth_year,pin\nLan,Zhou,Grade 3,2017,1357\n"


def _no_other_school_names(w: World, role: str, response: Any) -> None:
    # Aggregates only: no child's name, ever.
    assert w.child_a.given_name not in response.text
    assert w.child_b.given_name not in response.text


def _csv_withheld(w: World, role: str, response: Any) -> None:
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # One child per school in the world: every figure is withheld.
    assert all(row[3] == "<5" for row in rows[1:])


for case in [
    Case(
        "POST",
        "/api/v1/schools/{school_id}/roster/preview",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/roster/preview", json={"csv": ROSTER}),
        A_SCHOOL,
    ),
    Case(
        "POST",
        "/api/v1/schools/{school_id}/roster",
        lambda w: Req(f"/api/v1/schools/{w.school_a.id}/roster", json={"csv": ROSTER}),
        A_SCHOOL,
    ),
    Case(
        "GET",
        "/api/v1/admin/impact",
        lambda w: Req("/api/v1/admin/impact", params={"weeks": 2}),
        {"admin"},
        check=_no_other_school_names,
        note="Aggregates of every school: administrators and the NGO only.",
    ),
    Case(
        "GET",
        "/api/v1/admin/impact/csv",
        lambda w: Req("/api/v1/admin/impact/csv", params={"weeks": 1}),
        {"admin"},
        check=_csv_withheld,
    ),
]:
    register(case)
