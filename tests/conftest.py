from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.factories import Factory
from voicebridge.app import create_app
from voicebridge.config import AuthSettings, JobSettings, Settings, StorageSettings
from voicebridge.db import get_session, transaction

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.seaweed"]


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "data_dir": tmp,
        "auth": AuthSettings(
            secret_key=secrets.token_urlsafe(48), argon2_time_cost=1, argon2_memory_kib=1024
        ),
        "storage": StorageSettings(backend="local", local_path=tmp / "objects"),
        "jobs": JobSettings(in_process_worker=False),
        "log_json": False,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session) -> FastAPI:
    application = create_app(settings, engine=engine)

    def _test_session() -> Iterator[Session]:
        # What the test set up is kept (released savepoint inside the outer
        # transaction), so that a request rolling back undoes only its own work.
        session.commit()
        yield from transaction(session)

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def factory(session: Session, settings: Settings) -> Factory:
    return Factory(session, settings)
