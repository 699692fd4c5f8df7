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

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.seaweed", "tests.fixtures.faults"]


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


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One configuration per run; a test that needs other settings builds its own app."""
    return make_settings(tmp_path_factory.mktemp("voicebridge"))


class _CurrentSession:
    session: Session | None = None


@pytest.fixture(scope="session")
def _shared_app(settings: Settings, engine: Engine) -> tuple[FastAPI, _CurrentSession]:
    """Building the app costs a quarter of a second, so it is built once per database."""
    application = create_app(settings, engine=engine)
    current = _CurrentSession()

    def _test_session() -> Iterator[Session]:
        session = current.session
        assert session is not None, "the app fixture sets the test's session"
        # What the test set up is kept (released savepoint inside the outer
        # transaction), so that a request rolling back undoes only its own work.
        session.commit()
        yield from transaction(session)

    application.dependency_overrides[get_session] = _test_session
    return application, current


@pytest.fixture
def app(_shared_app: tuple[FastAPI, _CurrentSession], session: Session) -> Iterator[FastAPI]:
    application, current = _shared_app
    current.session = session
    store, app_settings = application.state.store, application.state.settings
    yield application
    # A test may point the shared app at another store or settings; undo that.
    application.state.store, application.state.settings = store, app_settings
    current.session = None


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def factory(session: Session, settings: Settings) -> Factory:
    return Factory(session, settings)
