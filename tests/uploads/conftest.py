"""Upload fixtures: a test purpose, an app wired to a given store, committed databases."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import make_settings
from tests.uploads.purpose import RecordingPurpose
from voicebridge.app import create_app
from voicebridge.config import Settings, UploadSettings
from voicebridge.db import get_session, transaction
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.purposes import PURPOSES

__all__ = ["RecordingPurpose"]

TUS = {"Tus-Resumable": "1.0.0"}
PART = 5 * 1024 * 1024


def metadata_header(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def upload_settings(tmp: Path, **overrides: object) -> Settings:
    uploads = UploadSettings(part_bytes=PART, max_bytes=64 * 1024 * 1024, **overrides)  # type: ignore[arg-type]
    return make_settings(tmp, uploads=uploads)


@pytest.fixture
def purpose() -> RecordingPurpose:
    purpose = PURPOSES["test"]
    assert isinstance(purpose, RecordingPurpose)
    purpose.calls.clear()
    return purpose


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return upload_settings(tmp_path)


@pytest.fixture
def store_app(settings: Settings, engine: Engine, session: Session, store: ObjectStore) -> FastAPI:
    """The app on the given store, every transaction inside the test's rolled-back one."""
    application = create_app(settings, engine=engine, store=store)

    def _test_session() -> Iterator[Session]:
        # Keep the test's setup (release its savepoint) so that a failed
        # request undoes only its own work.
        session.commit()
        yield from transaction(session)

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
def tus(store_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(store_app, raise_server_exceptions=False) as test_client:
        yield test_client
