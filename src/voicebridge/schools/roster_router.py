"""Roster CSV: POST .../roster/preview shows every row's problems; POST .../roster enrols."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from voicebridge.auth.deps import PasswordsDep
from voicebridge.db import SessionDep
from voicebridge.schools import roster
from voicebridge.schools.deps import ManagedSchool

router = APIRouter(tags=["schools"])


class RosterUpload(BaseModel):
    csv: str = Field(
        min_length=1,
        max_length=900_000,
        description="The CSV file's text: a header row (given_name, family_name, class, "
        "birth_year, optional pin; or 名, 姓, 班级, 出生年份, PIN), then one child a row",
    )


class RosterRowPublic(BaseModel):
    line: int = Field(description="Line in the file (the header is line 1)")
    given_name: str
    family_name: str
    class_name: str
    birth_year: int | None
    has_pin: bool
    new_class: bool = Field(description="The class does not exist yet; the import creates it")
    errors: list[str]


class RosterPreview(BaseModel):
    rows: list[RosterRowPublic]
    valid: int
    invalid: int


class RosterChildMade(BaseModel):
    line: int
    child_id: uuid.UUID
    given_name: str
    family_name: str
    class_id: uuid.UUID
    pin: str | None = Field(description="The PIN generated for a row without one (shown once)")


def _row_out(row: roster.RosterRow) -> RosterRowPublic:
    return RosterRowPublic(
        line=row.line,
        given_name=row.given_name,
        family_name=row.family_name,
        class_name=row.class_name,
        birth_year=row.birth_year,
        has_pin=row.pin is not None,
        new_class=row.new_class,
        errors=row.errors,
    )


@router.post("/schools/{school_id}/roster/preview")
def preview_roster(body: RosterUpload, school: ManagedSchool, session: SessionDep) -> RosterPreview:
    """Nothing is written: each row with what is wrong with it, for the teacher to fix."""
    rows = roster.parse(session, school, body.csv)
    bad = sum(1 for r in rows if r.errors)
    return RosterPreview(rows=[_row_out(r) for r in rows], valid=len(rows) - bad, invalid=bad)


@router.post("/schools/{school_id}/roster", status_code=status.HTTP_201_CREATED)
def import_roster(
    body: RosterUpload, school: ManagedSchool, session: SessionDep, passwords: PasswordsDep
) -> list[RosterChildMade]:
    """Enrols every row, or none when any row is bad (422 lists each bad row's errors)."""
    return [
        RosterChildMade(
            line=row.line,
            child_id=child.id,
            given_name=child.given_name,
            family_name=child.family_name,
            class_id=child.class_id,
            pin=pin,
        )
        for row, child, pin in roster.enrol(session, passwords, school, body.csv)
    ]
