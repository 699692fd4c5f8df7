"""Issue acceptance: a parent's 30-minute recording, cut off halfway and resumed with a
real tus client, becomes a message the child plays in full, on both stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from tusclient import client as tus_client

from tests.audio.make import make_recording
from tests.factories import Factory
from tests.uploads.conftest import upload_settings
from tests.uploads.live import run_jobs, serve
from voicebridge.accounts.models import User
from voicebridge.config import Settings, UploadSettings
from voicebridge.messages import service as messages
from voicebridge.storage.base import ObjectStore

MINUTES = 30


@pytest.fixture(scope="session")
def thirty_minutes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """One phone recording (AAC in M4A, index at the end) shared by every run."""
    path = make_recording(tmp_path_factory.mktemp("long") / "bedtime.m4a", "m4a", MINUTES * 60)
    return path, _decoded_seconds(path)


def _decoded_seconds(path: Path) -> float:
    total = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            total += frame.samples / frame.sample_rate
    return total


def test_thirty_minute_message_resumes_and_the_child_hears_all_of_it(
    tmp_path: Path,
    committed_url: str,
    committed_engine: Engine,
    store: ObjectStore,
    thirty_minutes: tuple[Path, float],
) -> None:
    source, source_seconds = thirty_minutes
    recording = tmp_path / "bedtime.m4a"
    shutil.copy(source, recording)
    settings: Settings = upload_settings(tmp_path).model_copy(
        update={
            "database_url": committed_url,
            "uploads": UploadSettings(part_bytes=5 * 1024 * 1024),
        }
    )
    with Session(committed_engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        school = factory.school()
        factory.staff(school)
        child = factory.child(school)
        guardian, _ = factory.guardian_of(child)
        child_user = session.get(User, child.id)
        assert child_user is not None
        thread = messages.open_thread(session, guardian, child, None)
        parent_h, child_h = factory.headers(guardian), factory.headers(child_user)
        session.commit()
    meta = {"purpose": "message", "thread_id": str(thread.id), "filename": "bedtime.m4a"}
    size = recording.stat().st_size
    with serve(settings, committed_engine, store) as base:
        phone = tus_client.TusClient(f"{base}/api/v1/uploads", headers=parent_h)
        uploader = phone.uploader(str(recording), chunk_size=512 * 1024, metadata=meta)
        while uploader.offset < size // 2:  # the mobile connection drops halfway
            uploader.upload_chunk()
        url = uploader.url
        assert url is not None
        again = tus_client.TusClient(f"{base}/api/v1/uploads", headers=parent_h)
        resumed = again.uploader(str(recording), url=url, chunk_size=2 * 1024 * 1024)
        assert size // 2 <= resumed.get_offset() < size
        resumed.upload()
        assert run_jobs(committed_engine, settings, store) >= 1

        with httpx.Client(base_url=base, headers=child_h, timeout=60) as child_phone:
            listing = child_phone.get(f"/api/v1/threads/{thread.id}/messages")
            assert listing.status_code == 200, listing.text
            [message] = listing.json()["items"]
            assert message["state"] == "ready"
            audio = child_phone.get(
                f"/api/v1/messages/{message['id']}/audio", follow_redirects=True
            )
            assert audio.status_code == 200
            assert audio.headers["content-type"] == "audio/ogg"
    heard = tmp_path / "heard.ogg"
    heard.write_bytes(audio.content)
    heard_seconds = _decoded_seconds(heard)
    assert abs(heard_seconds - source_seconds) <= source_seconds * 0.005
    assert abs(message["duration_ms"] / 1000 - source_seconds) <= source_seconds * 0.005
    # About 11 MB an hour: the child's tablet downloads a small file.
    assert len(audio.content) < 8 * 1024 * 1024
