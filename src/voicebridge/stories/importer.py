"""Bulk import of a folder of recordings (an NGO's 8,000 minutes) as draft stories.

The folder holds the recordings and ``stories.csv`` or ``stories.yaml``: one
row per chapter with ``file``, ``story`` (the story's title), and optionally
``chapter``, ``chapter_title``, ``description``, ``language``, ``age_min``,
``age_max``, ``tags`` (``;``-separated in CSV). Each file goes through
``purpose.ingest_file``, the same path as an upload. ``checkpoint`` runs after
every file (the CLI commits there), and a file already recorded by path and
SHA-256 is skipped, so an interrupted import is simply run again.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from sqlmodel import Session, select

from voicebridge.accounts.models import User
from voicebridge.audio.errors import InvalidAudio
from voicebridge.config import AudioSettings
from voicebridge.errors import DomainError
from voicebridge.inputs import check_text
from voicebridge.storage.base import ObjectStore
from voicebridge.stories import service
from voicebridge.stories.models import ImportedFile, Story, StoryStatus, Visibility
from voicebridge.stories.purpose import MAX_CHAPTER, ingest_file, sha256_file

METADATA_NAMES = ("stories.csv", "stories.yaml", "stories.yml")


@dataclass
class Row:
    file: str
    story: str
    chapter: int | None = None
    chapter_title: str = ""
    description: str = ""
    language: str = "zh"
    age_min: int = 3
    age_max: int = 15
    tags: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    story_ids: list[uuid.UUID] = field(default_factory=list)


def read_metadata(directory: Path) -> tuple[list[Row], dict[str, str]]:
    for name in METADATA_NAMES:
        path = directory / name
        if path.is_file():
            break
    else:
        raise FileNotFoundError(f"{directory} holds none of {', '.join(METADATA_NAMES)}")
    raw: list[dict[str, Any]]
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            raw = list(csv.DictReader(fh))
    else:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        raw = loaded.get("chapters", []) if isinstance(loaded, dict) else loaded
    rows, problems = [], {}
    for index, item in enumerate(raw, start=1):
        try:
            rows.append(_row(item))
        except (KeyError, TypeError, ValueError) as exc:
            problems[f"{path.name} row {index}"] = f"unusable metadata: {exc}"
    return rows, problems


class _RowIn(BaseModel):
    """A metadata row, held to the same limits as a story created over HTTP."""

    file: str = Field(min_length=1, max_length=500)
    story: str = Field(min_length=1, max_length=200)
    chapter: int | None = Field(default=None, ge=1, le=MAX_CHAPTER)
    chapter_title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)
    language: str = Field(default="zh", min_length=1, max_length=40)
    age_min: int = Field(default=3, ge=0, le=18)
    age_max: int = Field(default=15, ge=0, le=18)
    tags: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            return check_text(value.strip(), info.field_name or "value")
        return value


def _row(item: dict[str, Any]) -> Row:
    if not isinstance(item, dict):
        raise TypeError("each row is a mapping of column to value")
    tags = item.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(";") if t.strip()]
    # An empty cell means "the default", as it does in a spreadsheet.
    values: dict[str, Any] = {
        k: str(v) if k in ("file", "story") else v
        for k, v in item.items()
        if k in _RowIn.model_fields and k != "tags" and v is not None and v != ""
    }
    values["tags"] = [str(t) for t in tags]
    try:
        parsed = _RowIn.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from None
    return Row(**parsed.model_dump())


def _story_for(session: Session, narrator: User, row: Row) -> Story:
    existing = session.exec(
        select(Story).where(Story.narrator_id == narrator.id, Story.title == row.story)
    ).first()
    if existing is not None:
        return existing
    return service.create_story(
        session,
        narrator,
        visibility=Visibility.public,
        title=row.story,
        description=row.description,
        language=row.language,
        age_min=row.age_min,
        age_max=row.age_max,
        tags=row.tags,
    )


def run_import(
    session: Session,
    store: ObjectStore,
    audio: AudioSettings,
    narrator: User,
    directory: Path,
    *,
    checkpoint: Callable[[], None] = lambda: None,
    on_file: Callable[[str], None] = lambda _name: None,
    submit: bool = True,
) -> ImportReport:
    rows, problems = read_metadata(directory)
    report = ImportReport(problems=problems)
    root = directory.resolve()
    for row in rows:
        on_file(row.file)
        path = (directory / row.file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            report.problems[row.file] = "no such file in the folder"
            continue
        digest = sha256_file(path)
        done = session.exec(
            select(ImportedFile).where(
                ImportedFile.path == str(path), ImportedFile.sha256 == digest
            )
        ).first()
        if done is not None:
            report.skipped.append(row.file)
            continue
        try:
            with session.begin_nested():
                story = _story_for(session, narrator, row)
                metadata = {"story_id": str(story.id), "chapter_title": row.chapter_title}
                if row.chapter is not None:
                    metadata["chapter_number"] = str(row.chapter)
                chapter = ingest_file(session, store, audio, narrator, path, metadata)
                session.add(ImportedFile(path=str(path), sha256=digest, chapter_id=chapter.id))
                session.flush()
        except (InvalidAudio, DomainError) as exc:
            report.problems[row.file] = f"{exc.title}: {exc.detail or ''}".strip(": ")
            continue
        if story.id not in report.story_ids:
            report.story_ids.append(story.id)
        report.imported.append(row.file)
        checkpoint()
    if submit:
        for story_id in report.story_ids:
            draft = session.get(Story, story_id)
            if draft is not None and draft.status is StoryStatus.draft:
                service.submit(session, draft)
        checkpoint()
    return report
