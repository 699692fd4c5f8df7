"""Enrolling a class from a CSV roster: a preview with an error per bad row, then all or nothing.

Columns (a header row; English or Chinese names): ``given_name``/``名``,
``family_name``/``姓``, ``class``/``班级``, ``birth_year``/``出生年份`` and,
optionally, ``pin``/``PIN``. A class that does not exist yet is created with
the import. A row without a PIN gets a random one, shown once in the result
for the teacher to hand out.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field

from sqlmodel import Session, select

from voicebridge.auth.passwords import Passwords
from voicebridge.errors import InvalidInput
from voicebridge.schools import service
from voicebridge.schools.models import Child, School, SchoolClass

MAX_ROWS = 2000
HEADERS = {
    "given_name": ("given_name", "given name", "名", "名字"),
    "family_name": ("family_name", "family name", "姓", "姓氏"),
    "class": ("class", "class_name", "班级", "班"),
    "birth_year": ("birth_year", "birth year", "出生年份", "出生年"),
    "pin": ("pin", "PIN", "密码"),
}
REQUIRED = ("given_name", "family_name", "class", "birth_year")


@dataclass
class RosterRow:
    line: int
    given_name: str
    family_name: str
    class_name: str
    birth_year: int | None
    pin: str | None
    errors: list[str] = field(default_factory=list)
    new_class: bool = False


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        cleaned = name.strip().lstrip("\ufeff")
        for key, names in HEADERS.items():
            if cleaned in names or cleaned.lower() in names:
                found.setdefault(key, index)
    missing = [key for key in REQUIRED if key not in found]
    if missing:
        raise InvalidInput(
            "The roster's first row must name its columns", missing=missing, expected=list(HEADERS)
        )
    return found


def parse(session: Session, school: School, text: str) -> list[RosterRow]:
    """Every row with what is wrong with it; nothing is written."""
    lines = list(csv.reader(io.StringIO(text.strip("\ufeff"))))
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise InvalidInput("The roster is empty")
    if len(lines) - 1 > MAX_ROWS:
        raise InvalidInput(f"At most {MAX_ROWS} children per roster")
    columns = _columns(lines[0])
    classes = {
        c.name: c
        for c in session.exec(select(SchoolClass).where(SchoolClass.school_id == school.id))
    }
    existing = {
        (c.family_name, c.given_name, c.class_id, c.birth_year)
        for c in session.exec(
            select(Child).where(Child.school_id == school.id, Child.left_at == None)  # noqa: E711
        )
    }
    seen: dict[tuple[str, str, str, int | None], int] = {}
    rows: list[RosterRow] = []
    for number, cells in enumerate(lines[1:], start=2):

        def cell(key: str, cells: list[str] = cells) -> str:
            index = columns.get(key)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        row = RosterRow(
            line=number,
            given_name=cell("given_name"),
            family_name=cell("family_name"),
            class_name=cell("class"),
            birth_year=None,
            pin=cell("pin") or None,
        )
        for key, value, limit in (
            ("given_name", row.given_name, 60),
            ("family_name", row.family_name, 60),
            ("class", row.class_name, 120),
        ):
            if not value:
                row.errors.append(f"{key} is empty")
            elif len(value) > limit:
                row.errors.append(f"{key} is longer than {limit} characters")
        year = cell("birth_year")
        if year.isascii() and year.isdigit() and 2000 <= int(year) <= 2030:
            row.birth_year = int(year)
        else:
            row.errors.append(f"birth_year {year!r} is not a year between 2000 and 2030")
        if row.pin is not None and not (
            row.pin.isascii() and row.pin.isdigit() and 4 <= len(row.pin) <= 8
        ):
            row.errors.append("pin must be 4 to 8 digits")
        school_class = classes.get(row.class_name)
        row.new_class = bool(row.class_name) and school_class is None
        same = (row.family_name, row.given_name, row.class_name, row.birth_year)
        if same in seen:
            row.errors.append(f"the same child as line {seen[same]}")
        else:
            seen[same] = number
        if (
            school_class is not None
            and (
                row.family_name,
                row.given_name,
                school_class.id,
                row.birth_year,
            )
            in existing
        ):
            row.errors.append("already enrolled")
        rows.append(row)
    return rows


def enrol(
    session: Session, passwords: Passwords, school: School, text: str
) -> list[tuple[RosterRow, Child, str | None]]:
    """All rows or none: any bad row refuses the whole roster, listing every error."""
    rows = parse(session, school, text)
    bad = [r for r in rows if r.errors]
    if bad:
        raise InvalidInput(
            f"{len(bad)} rows need fixing; nothing was enrolled",
            rows=[{"line": r.line, "errors": r.errors} for r in bad],
        )
    classes = {c.name: c for c in service.list_classes(session, school.id)}
    made: list[tuple[RosterRow, Child, str | None]] = []
    for row in rows:
        school_class = classes.get(row.class_name)
        if school_class is None:
            school_class = service.create_class(session, school, row.class_name)
            classes[row.class_name] = school_class
        generated = None if row.pin else f"{secrets.randbelow(10**4):04d}"
        assert row.birth_year is not None
        child = service.enrol_child(
            session,
            passwords,
            school,
            given_name=row.given_name,
            family_name=row.family_name,
            class_id=school_class.id,
            birth_year=row.birth_year,
            pin=row.pin or generated or "",
        )
        made.append((row, child, generated))
    return made
