"""The messages job handlers, run on the test's connection so they see its rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.messages.conftest import Family
from tests.messages.helpers import ready_message
from voicebridge.audio.models import AudioAsset
from voicebridge.config import Settings
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.registry import HANDLERS, JobContext, PermanentJobError
from voicebridge.jobs.worker import Worker
from voicebridge.messages import service
from voicebridge.messages.jobs import purge_audio


def _ctx(session: Session, settings: Settings, store: Any) -> JobContext:
    return JobContext(session.connection(), settings, store)  # type: ignore[arg-type]


def test_job_kinds_are_registered() -> None:
    import voicebridge.jobs.all  # noqa: F401

    assert HANDLERS[service.PURGE_JOB] is purge_audio


def test_purge_refuses_a_message_that_was_not_deleted(
    session: Session, family: Family, settings: Settings, store: Any
) -> None:
    message = ready_message(session, store, family.guardian, family.thread)
    asset = session.get(AudioAsset, message.asset_id)
    assert asset is not None
    assert asset.playable_key is not None
    with pytest.raises(PermanentJobError):
        purge_audio(_ctx(session, settings, store), {"asset_id": str(asset.id)})
    assert store.head(asset.playable_key) is not None

    key = asset.playable_key
    service.delete_message(session, message)
    purge_audio(_ctx(session, settings, store), {"asset_id": str(asset.id)})
    assert store.head(key) is None
    session.refresh(asset)
    assert asset.playable_key is None
    assert asset.original_key is None


def test_worker_claims_and_finishes_the_purge(
    session: Session, family: Family, settings: Settings, store: Any
) -> None:
    """Through the real claim/lease/finish path, on the test's connection."""
    message = ready_message(session, store, family.guardian, family.thread)
    asset = session.get(AudioAsset, message.asset_id)
    assert asset is not None
    keys = [k for k in (asset.playable_key, asset.original_key) if k]
    service.delete_message(session, message)
    session.commit()
    worker = Worker(
        _ctx(session, settings, store), lease=timedelta(minutes=5), kinds=[service.PURGE_JOB]
    )
    assert worker.run_until_idle() >= 1
    assert all(store.head(key) is None for key in keys)
    job = session.exec(
        select(Job).where(Job.kind == service.PURGE_JOB, Job.state == JobState.done)
    ).all()
    assert any(j.payload == {"asset_id": str(asset.id)} for j in job)
