"""Transcodes run in child processes, as many at once as the setting says, and a child
that dies takes only its own attempt with it: the worker retries and the child hears
the message."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import av
import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.audio.make import make_recording
from tests.factories import Factory
from tests.uploads.conftest import upload_settings
from tests.uploads.live import serve
from voicebridge.accounts.models import User
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.audio.pool import shared_pool
from voicebridge.config import JobSettings, Settings
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker, load_handlers
from voicebridge.messages import service as messages
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.service import PROCESS_JOB
from voicebridge.uploads.verify import verify


def _settings(tmp_path: Path, url: str, processes: int) -> Settings:
    settings = upload_settings(tmp_path)
    jobs = JobSettings(in_process_worker=False, transcode_processes=processes)
    return settings.model_copy(update={"database_url": url, "jobs": jobs})


@contextmanager
def _worker(engine: Engine, settings: Settings, store: ObjectStore) -> Iterator[Worker]:
    """The real worker loop in a thread, as ``voicebridge worker`` runs it."""
    load_handlers()
    worker = Worker(
        JobContext(engine, settings, store, f"pool-test-{uuid.uuid4().hex[:6]}"),
        lease=timedelta(minutes=5),
        parallel=settings.jobs.transcode_slots,
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(120)
        assert not thread.is_alive(), "the worker did not stop"


def _send_messages(
    engine: Engine, settings: Settings, base: str, recordings: list[Path]
) -> tuple[uuid.UUID, dict[str, str], list[uuid.UUID]]:
    with Session(engine, expire_on_commit=False) as session:
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
    assets = []
    for recording in recordings:
        sent = httpx.post(
            f"{base}/api/v1/uploads/single",
            params={"purpose": "message", "thread_id": str(thread.id)},
            content=recording.read_bytes(),
            headers={**parent_h, "Content-Type": "audio/mp4"},
            timeout=60,
        )
        assert sent.status_code == 201, sent.text
        assets.append(uuid.UUID(sent.json()["asset_id"]))
    return thread.id, child_h, assets


def _wait_ready(engine: Engine, assets: list[uuid.UUID], seconds: float) -> list[AudioAsset]:
    deadline = time.monotonic() + seconds
    while True:
        with Session(engine, expire_on_commit=False) as session:
            rows = [session.get(AudioAsset, asset_id) for asset_id in assets]
        found = [row for row in rows if row is not None]
        if all(row.state is not AssetState.processing for row in found):
            return found
        assert time.monotonic() < deadline, "the recordings were not transcoded in time"
        time.sleep(0.1)


def _decoded_ms(path: Path) -> float:
    with av.open(str(path)) as container:
        return 1000 * sum(f.samples / f.sample_rate for f in container.decode(audio=0))


def test_a_killed_transcode_is_retried_and_the_child_hears_the_message(
    tmp_path: Path, committed_url: str, committed_engine: Engine, store: ObjectStore
) -> None:
    settings = _settings(tmp_path, committed_url, processes=2)
    recording = make_recording(tmp_path / "bedtime.m4a", "m4a", 300)
    pool = shared_pool(settings.jobs.transcode_slots)
    with serve(settings, committed_engine, store) as base:
        thread_id, child_h, [asset_id] = _send_messages(
            committed_engine, settings, base, [recording]
        )
        with _worker(committed_engine, settings, store):
            deadline = time.monotonic() + 120
            while not (victims := pool.running()):
                assert time.monotonic() < deadline, "no transcode process started"
                time.sleep(0.005)
            time.sleep(0.3)  # well into the recording, with output half written
            os.kill(victims[0], signal.SIGKILL)
            [asset] = _wait_ready(committed_engine, [asset_id], 180)
        with httpx.Client(base_url=base, headers=child_h, timeout=60) as tablet:
            listing = tablet.get(f"/api/v1/threads/{thread_id}/messages")
            assert listing.status_code == 200, listing.text
            [message] = listing.json()["items"]
            assert message["state"] == "ready"
            audio = tablet.get(f"/api/v1/messages/{message['id']}/audio", follow_redirects=True)
            assert audio.status_code == 200
    assert asset.state is AssetState.ready, asset.failure_detail
    heard = tmp_path / "heard.ogg"
    heard.write_bytes(audio.content)
    assert abs(_decoded_ms(heard) - 300_000) <= 300
    with Session(committed_engine) as session:
        [job] = session.exec(select(Job).where(Job.kind == PROCESS_JOB)).all()
    assert job.state is JobState.done
    assert job.attempts == 2, "the killed attempt counts, and one retry finished the job"
    assert job.last_error is not None
    assert "TranscodeCrashed" in job.last_error
    # The killed attempt left nothing behind: one playable object, every row's object there.
    assert list(store.list_keys("audio/")) == [asset.playable_key]
    report = verify(committed_engine, store)
    assert report.ok, report.summary()
    assert not list((settings.data_dir / "work").iterdir()), "no temporary files are left"


def _most_at_once(
    tmp_path: Path, url: str, engine: Engine, store: ObjectStore, processes: int
) -> int:
    settings = _settings(tmp_path / f"p{processes}", url, processes)
    recordings = [make_recording(tmp_path / f"p{processes}-{n}.m4a", "m4a", 90) for n in range(3)]
    pool = shared_pool(processes)
    most = 0
    with serve(settings, engine, store) as base:
        _, _, assets = _send_messages(engine, settings, base, recordings)
        with _worker(engine, settings, store):
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                most = max(most, len(pool.running()))
                with Session(engine) as session:
                    pending = session.exec(
                        select(Job).where(Job.kind == PROCESS_JOB, Job.state != JobState.done)
                    ).all()
                if not pending:
                    break
                time.sleep(0.005)
    assert all(row.state is AssetState.ready for row in _wait_ready(engine, assets, 1))
    return most


def test_the_setting_decides_how_many_recordings_transcode_at_once(
    tmp_path: Path, committed_url: str, committed_engine: Engine, local_store: ObjectStore
) -> None:
    assert _most_at_once(tmp_path, committed_url, committed_engine, local_store, 2) == 2
    assert _most_at_once(tmp_path, committed_url, committed_engine, local_store, 1) == 1
