"""From a real tus client on a real socket to a playable Opus, on both stores."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import av
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from tusclient import client as tus_client

from tests.audio.make import make_recording
from tests.uploads.conftest import RecordingPurpose, upload_settings
from tests.uploads.live import guardian_headers, run_jobs, serve
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.config import Settings
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.models import Upload

SECONDS = 150


def _decoded_ms(path: Path) -> float:
    total = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            total += frame.samples / frame.sample_rate
    return total * 1000


@pytest.fixture
def live_settings(tmp_path: Path, committed_url: str) -> Settings:
    settings = upload_settings(tmp_path)
    return settings.model_copy(update={"database_url": committed_url})


def test_tus_client_resumes_and_the_worker_makes_it_playable(
    tmp_path: Path,
    live_settings: Settings,
    committed_engine: Engine,
    store: ObjectStore,
    purpose: RecordingPurpose,
) -> None:
    recording = make_recording(tmp_path / "long.wav", "wav", SECONDS)
    size = recording.stat().st_size
    headers = guardian_headers(committed_engine, live_settings)
    meta = {"purpose": "test", "filename": "long.wav", "filetype": "audio/wav"}
    with serve(live_settings, committed_engine, store) as base:
        first = tus_client.TusClient(f"{base}/api/v1/uploads", headers=headers)
        uploader = first.uploader(str(recording), chunk_size=1024 * 1024, metadata=meta)
        for _ in range(7):  # about half, then the connection "drops"
            uploader.upload_chunk()
        url = uploader.url
        assert url is not None
        second = tus_client.TusClient(f"{base}/api/v1/uploads", headers=headers)
        resumed = second.uploader(str(recording), url=url, chunk_size=3 * 1024 * 1024)
        assert resumed.get_offset() == 7 * 1024 * 1024
        resumed.upload()
        assert resumed.offset == size
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    with Session(committed_engine) as session:
        upload = session.get(Upload, upload_id)
        assert upload is not None
        assert upload.completed_at is not None
        asset_id = upload.asset_id
    assert run_jobs(committed_engine, live_settings, store) >= 1
    with Session(committed_engine) as session:
        asset = session.get(AudioAsset, asset_id)
        assert asset is not None
        assert asset.state is AssetState.ready, asset.failure_detail
        assert asset.duration_ms is not None
        assert abs(asset.duration_ms - SECONDS * 1000) <= SECONDS * 1000 * 0.005
        assert len(asset.peaks) == live_settings.audio.peaks
        assert asset.original_sha256 == hashlib.sha256(recording.read_bytes()).hexdigest()
        playable = tmp_path / "out.opus"
        store.download_to(asset.playable_key or "", playable)
        assert playable.stat().st_size == asset.playable_size
        assert hashlib.sha256(playable.read_bytes()).hexdigest() == asset.playable_sha256
    assert abs(_decoded_ms(playable) - SECONDS * 1000) <= SECONDS * 1000 * 0.005
    assert ("ready", str(asset_id)) in purpose.calls
    # Running the job again changes nothing and writes no second object.
    from voicebridge.jobs.registry import JobContext
    from voicebridge.uploads.jobs import process_audio

    process_audio(JobContext(committed_engine, live_settings, store), {"asset_id": str(asset_id)})
    assert len(list(store.list_keys("audio/"))) == 1


def test_not_audio_fails_the_asset_and_leaves_nothing(
    tmp_path: Path,
    live_settings: Settings,
    committed_engine: Engine,
    store: ObjectStore,
    purpose: RecordingPurpose,
) -> None:
    import httpx

    headers = guardian_headers(committed_engine, live_settings)
    with serve(live_settings, committed_engine, store) as base:
        response = httpx.post(
            f"{base}/api/v1/uploads/single?purpose=test",
            # A phone that does not know the file's type says octet-stream; the
            # bytes are a text document all the same.
            content=b"this is a text document, not a recording " * 100,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
    assert response.status_code == 201, response.text
    asset_id = uuid.UUID(response.json()["asset_id"])
    run_jobs(committed_engine, live_settings, store)
    with Session(committed_engine) as session:
        asset = session.get(AudioAsset, asset_id)
        assert asset is not None
        assert asset.state is AssetState.failed
        assert asset.failure_type == "not-audio"
        assert asset.original_key is None
        assert (
            session.exec(select(AudioAsset).where(AudioAsset.state == AssetState.ready)).all() == []
        )
    assert list(store.list_keys("original/")) == []
    assert list(store.list_keys("audio/")) == []
    assert ("failed", str(asset_id)) in purpose.calls
