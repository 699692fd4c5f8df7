"""The housekeeping jobs: expiry, the orphan sweep, and the playable check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import Factory
from tests.uploads.conftest import RecordingPurpose, upload_settings
from tests.uploads.live import run_jobs
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.config import Settings
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.registry import JobContext
from voicebridge.storage.base import ObjectInfo, ObjectStore
from voicebridge.uploads import jobs as upload_jobs
from voicebridge.uploads import service
from voicebridge.uploads.jobs import (
    MISSING_JOB,
    VERIFY_JOB,
    expire_uploads,
    sweep_orphans,
    verify_playable,
)
from voicebridge.uploads.models import Upload


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    fake = clock.FakeClock(datetime.now(UTC))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


@pytest.fixture
def live(tmp_path: Path, committed_url: str) -> Settings:
    return upload_settings(tmp_path).model_copy(update={"database_url": committed_url})


def _upload(engine: Engine, settings: Settings, store: ObjectStore, length: int) -> Upload:
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        user = factory.user(Role.guardian)
        upload = service.create(session, store, settings, user, length, {"purpose": "test"})
        session.commit()
        return upload


def test_expired_uploads_leave_nothing_but_a_failed_asset(
    live: Settings,
    committed_engine: Engine,
    store: ObjectStore,
    fake_clock: clock.FakeClock,
    purpose: RecordingPurpose,
) -> None:
    upload = _upload(committed_engine, live, store, 1000)
    fresh = _upload(committed_engine, live, store, 1000)
    with Session(committed_engine) as session:
        row = session.get(Upload, fresh.id)
        assert row is not None
        row.expires_at = clock.now() + timedelta(days=3)
        session.add(row)
        session.commit()
    fake_clock.advance(hours=live.uploads.expire_hours + 1)
    expire_uploads(JobContext(committed_engine, live, store), {})
    with Session(committed_engine) as session:
        assert session.get(Upload, upload.id) is None
        assert session.get(Upload, fresh.id) is not None
        asset = session.get(AudioAsset, upload.asset_id)
        assert asset is not None
        assert asset.state is AssetState.failed
    assert [mp.upload_id for mp in store.list_multipart_uploads("original/")] == [
        fresh.multipart_id
    ]
    assert ("failed", str(upload.asset_id)) in purpose.calls


def test_sweep_removes_only_old_unreferenced_things(
    live: Settings, committed_engine: Engine, store: ObjectStore, fake_clock: clock.FakeClock
) -> None:
    known = _upload(committed_engine, live, store, 1000)
    stray_key = service.new_key(service.ORIGINAL_PREFIX, "bin")
    stray_mp = store.create_multipart(stray_key, "application/octet-stream")
    orphan = service.new_key(service.PLAYABLE_PREFIX, "opus")
    store.put_bytes(orphan, b"orphan", "audio/ogg")
    ctx = JobContext(committed_engine, live, store)
    sweep_orphans(ctx, {})  # everything is young: nothing goes
    assert len(store.list_multipart_uploads("original/")) == 2
    assert store.head(orphan) is not None
    fake_clock.advance(hours=2)
    young = service.new_key(service.PLAYABLE_PREFIX, "opus")
    store.put_bytes(young, b"young", "audio/ogg")
    if not hasattr(store, "bucket"):
        sweep_orphans(ctx, {})
        left = [mp.upload_id for mp in store.list_multipart_uploads("original/")]
        assert left == [known.multipart_id]
        assert stray_mp not in left
    else:
        # SeaweedFS stamps multipart uploads with its own (real) clock; the
        # object half of the sweep is what the fake clock can age here.
        sweep_orphans(ctx, {})
    assert store.head(orphan) is None
    assert store.head(young) is not None


def test_a_ready_asset_without_its_object_becomes_a_dead_letter(
    live: Settings, committed_engine: Engine, store: ObjectStore
) -> None:
    with Session(committed_engine, expire_on_commit=False) as session:
        user = Factory(session, live).user(Role.guardian)
        good_key = service.new_key(service.PLAYABLE_PREFIX, "opus")
        info = store.put_bytes(good_key, b"opus bytes", "audio/ogg")
        good = AudioAsset(
            owner_id=user.id,
            purpose="test",
            state=AssetState.ready,
            playable_key=good_key,
            playable_size=info.size,
        )
        lost = AudioAsset(
            owner_id=user.id,
            purpose="test",
            state=AssetState.ready,
            playable_key=service.new_key(service.PLAYABLE_PREFIX, "opus"),
            playable_size=10,
        )
        session.add_all([good, lost])
        session.commit()
    verify_playable(JobContext(committed_engine, live, store), {})
    run_jobs(committed_engine, live, store)
    with Session(committed_engine) as session:
        dead = session.exec(select(Job).where(Job.state == JobState.dead)).all()
    assert [job.kind for job in dead] == [MISSING_JOB]
    assert dead[0].payload == {"asset_id": str(lost.id)}
    assert "missing" in (dead[0].last_error or "")


def test_playable_check_works_through_the_table_in_batches_with_a_cursor(
    live: Settings,
    committed_engine: Engine,
    store: ObjectStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(upload_jobs, "MAINTENANCE_BATCH", 2)
    monkeypatch.setattr(upload_jobs, "VERIFY_BATCHES_PER_RUN", 1)
    with Session(committed_engine, expire_on_commit=False) as session:
        user = Factory(session, live).user(Role.guardian)
        assets = []
        for n in range(5):
            key = service.new_key(service.PLAYABLE_PREFIX, "opus")
            size = store.put_bytes(key, b"opus bytes", "audio/ogg").size if n % 2 else 999
            assets.append(
                AudioAsset(
                    owner_id=user.id,
                    purpose="test",
                    state=AssetState.ready,
                    playable_key=key,
                    playable_size=size,
                )
            )
        session.add_all(assets)
        session.commit()
    heads: list[str] = []
    real_head = store.head

    def counted_head(key: str) -> ObjectInfo | None:
        heads.append(key)
        return real_head(key)

    monkeypatch.setattr(store, "head", counted_head)

    verify_playable(JobContext(committed_engine, live, store), {})
    assert len(heads) == 2  # one batch, then a follow-up job carries on from its last id
    run_jobs(committed_engine, live, store)
    with Session(committed_engine) as session:
        jobs = session.exec(select(Job)).all()
    ordered = sorted(assets, key=lambda a: a.id)
    follow_ups = sorted(
        str(j.payload["after"]) for j in jobs if j.kind == VERIFY_JOB and "after" in j.payload
    )
    assert follow_ups == sorted(str(a.id) for a in (ordered[1], ordered[3]))
    lost = {str(a.id) for a in assets if a.playable_size == 999}
    dead = {str(j.payload["asset_id"]) for j in jobs if j.state is JobState.dead}
    assert dead == lost
    # Every asset HEADed once by the playable check, once more if it is lost.
    assert len(heads) == len(assets) + len(lost)
