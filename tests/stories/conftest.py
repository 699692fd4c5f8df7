from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.audio.make import make_recording
from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.stories import service


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as an NGO would send it: real recordings, one broken file, a CSV."""
    folder = tmp_path_factory.mktemp("import")
    make_recording(folder / "moon-1.m4a", "m4a", 2.0)
    make_recording(folder / "moon-2.mp3", "mp3", 1.5)
    make_recording(folder / "fox.wav", "wav", 1.0)
    (folder / "broken.mp3").write_bytes(b"this is not a recording at all" * 20)
    (folder / "stories.csv").write_text(
        "file,story,chapter,chapter_title,language,age_min,age_max,tags\n"
        "moon-1.m4a,The Moon Rabbit,1,The jade rabbit,zh,5,10,moon;festival\n"
        "moon-2.mp3,The Moon Rabbit,2,Back to earth,zh,5,10,moon;festival\n"
        "fox.wav,The Clever Fox,1,,zh,4,9,animals\n"
        "broken.mp3,The Broken One,1,,zh,4,9,\n"
        "missing.mp3,The Missing One,1,,zh,4,9,\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def folder(recordings: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: imports are remembered by absolute path."""
    return Path(shutil.copytree(recordings, tmp_path / "import"))


@pytest.fixture
def narrator(session: Session, factory: Factory) -> User:
    reader = factory.user(Role.staff, "Auntie Wang")
    moderator = factory.user(Role.moderator, "Mod")
    service.apply_as_narrator(session, reader, "Auntie Wang", "reads on the radio")
    service.verify_narrator(session, moderator, reader.id, True)
    return reader
