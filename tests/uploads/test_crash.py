"""SIGKILL the API mid-upload and the worker mid-transcode; nothing is lost or half-made.

Real processes on a committed PostgreSQL scratch database: the crash must hit
the code paths a deployment runs, not a thread that shares our memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.audio.make import make_recording
from tests.fixtures.database import create_scratch_database, drop_scratch_database
from tests.fixtures.seaweed import SeaweedServer
from tests.uploads.conftest import PART, TUS, metadata_header, upload_settings
from tests.uploads.live import free_port, guardian_headers
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.jobs import service as jobs
from voicebridge.jobs.models import Job, JobState
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.models import Upload
from voicebridge.uploads.verify import verify

ROOT = Path(__file__).resolve().parents[2]
OCTET = {"Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    from voicebridge.migrate import upgrade

    url, name = create_scratch_database(postgres_admin_url)
    upgrade(url)
    yield url
    drop_scratch_database(postgres_admin_url, name)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    from voicebridge.db import make_engine

    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


def _env(
    tmp: Path, url: str, store: ObjectStore, request: pytest.FixtureRequest, secret: str = ""
) -> dict[str, str]:
    env = {
        "VOICEBRIDGE_AUTH__SECRET_KEY": secret or "x" * 40,
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "VOICEBRIDGE_ENVIRONMENT": "development",
        "VOICEBRIDGE_DATABASE_URL": url,
        "VOICEBRIDGE_DATA_DIR": str(tmp / "data"),
        "VOICEBRIDGE_UPLOADS__PART_BYTES": str(PART),
        "VOICEBRIDGE_JOBS__IN_PROCESS_WORKER": "false",
        "VOICEBRIDGE_JOBS__LEASE_SECONDS": "3",
        "VOICEBRIDGE_JOBS__POLL_SECONDS": "0.1",
        "VOICEBRIDGE_LOG_JSON": "false",
    }
    bucket = getattr(store, "bucket", None)
    if bucket is None:
        env["VOICEBRIDGE_STORAGE__BACKEND"] = "local"
        env["VOICEBRIDGE_STORAGE__LOCAL_PATH"] = str(tmp / "objects")
    else:
        seaweed: SeaweedServer = request.getfixturevalue("seaweed")
        env |= {
            "VOICEBRIDGE_STORAGE__BACKEND": "s3",
            "VOICEBRIDGE_STORAGE__BUCKET": bucket,
            "VOICEBRIDGE_STORAGE__ENDPOINT_URL": seaweed.endpoint_url,
            "VOICEBRIDGE_STORAGE__ACCESS_KEY_ID": seaweed.access_key_id,
            "VOICEBRIDGE_STORAGE__SECRET_ACCESS_KEY": seaweed.secret_access_key,
        }
    return env


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.uploads.procs", *args], env=env, cwd=ROOT)


def _api(env: dict[str, str], port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """An API process; given the port of a killed one, it comes back at the same address,
    as a restarted server behind a fixed name would, so clients' upload URLs stay valid."""
    port = port or free_port()
    proc = _spawn(env, "api", str(port))
    base = f"http://127.0.0.1:{port}"
    # Importing the app takes seconds, and far longer on a busy shared CI machine.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("API did not start")


def _until_counted(engine: Engine, upload_id: uuid.UUID, offset: int) -> None:
    """Until the API has fsync'd and counted ``offset`` bytes of the upload."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with Session(engine) as session:
            upload = session.get(Upload, upload_id)
            assert upload is not None
            if upload.offset >= offset:
                return
        time.sleep(0.05)
    pytest.fail(f"the API never counted {offset} bytes of the upload")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_sigkill_mid_upload_and_mid_transcode(
    tmp_path: Path,
    pg_url: str,
    pg_engine: Engine,
    store: ObjectStore,
    request: pytest.FixtureRequest,
) -> None:
    settings = upload_settings(tmp_path)
    env = _env(tmp_path, pg_url, store, request, settings.auth.secret_key)
    recording = make_recording(tmp_path / "talk.wav", "wav", 240)
    data = recording.read_bytes()
    headers = {**guardian_headers(pg_engine, settings), **TUS}

    api, base = _api(env)
    created = httpx.post(
        f"{base}/api/v1/uploads",
        headers={
            **headers,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(purpose="test", filetype="audio/wav"),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location.startswith(f"{base}/api/v1/uploads/"), location
    path = location.removeprefix(base)
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for start in range(0, len(data), 256 * 1024):
            if sent >= 3 * PART + 700_000:
                # What we sent may still sit in socket buffers of a server slowed by a
                # busy machine: kill it mid-stream once it has counted a part's worth.
                _until_counted(pg_engine, uuid.UUID(path.rsplit("/", 1)[1]), PART)
                _kill(api)
            chunk = data[start : start + 256 * 1024]
            sent += len(chunk)
            yield chunk

    with pytest.raises(httpx.TransportError):
        httpx.patch(
            location,
            content=body(),
            headers={
                **headers,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0",
            },
            timeout=30,
        )

    api, base = _api(env)
    try:
        head = httpx.head(base + path, headers=headers)
        offset = int(head.headers["Upload-Offset"])
        assert PART <= offset <= sent
        with Session(pg_engine) as session:
            upload = session.get(Upload, uuid.UUID(path.rsplit("/", 1)[1]))
            assert upload is not None
            assert upload.offset == offset
            asset_id = upload.asset_id
        done = httpx.patch(
            base + path,
            content=data[offset:],
            headers={
                **headers,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            },
            timeout=60,
        )
        assert done.status_code == 204, done.text
    finally:
        _kill(api)
    with Session(pg_engine) as session:
        asset = session.get(AudioAsset, asset_id)
        assert asset is not None
        assert asset.state is AssetState.processing
        assert asset.original_size == len(data)
    original = tmp_path / "original"
    store.download_to(asset.original_key or "", original)
    assert original.read_bytes() == data

    worker = _spawn(env, "worker")
    deadline = time.monotonic() + 120  # a cold start on a busy machine
    while time.monotonic() < deadline:
        with Session(pg_engine) as session:
            job = session.exec(select(Job).where(Job.kind == "audio.process")).one()
            if job.state is JobState.running:
                break
        time.sleep(0.02)
    _kill(worker)
    with Session(pg_engine) as session:
        asset = session.get(AudioAsset, asset_id)
        assert asset is not None
        assert asset.state is AssetState.processing, "the worker finished before it was killed"
    worker = _spawn(env, "worker")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Session(pg_engine) as session:
                asset = session.get(AudioAsset, asset_id)
                assert asset is not None
                if asset.state is AssetState.ready:
                    break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert asset.state is AssetState.ready
    info = store.head(asset.playable_key or "")
    assert info is not None
    assert info.size == asset.playable_size
    with Session(pg_engine) as session:
        job = session.exec(select(Job).where(Job.kind == "audio.process")).one()
        assert job.attempts == 2
        for ready in session.exec(select(AudioAsset).where(AudioAsset.state == AssetState.ready)):
            assert store.head(ready.playable_key or "") is not None
    # The consistency check an operator runs after a crash: every row points at its
    # object (objects younger than the grace period may be a killed job's leftovers,
    # which the orphan sweep removes later).
    report = verify(pg_engine, store)
    assert report.ok, report.summary()
    lost = 0 if original.read_bytes() == data else 1
    print(f"\nfaults injected: 2, uploads attempted: 1, messages lost: {lost}")  # noqa: T201


def test_two_workers_never_run_a_job_twice(
    tmp_path: Path,
    pg_url: str,
    pg_engine: Engine,
    local_store: ObjectStore,
    request: pytest.FixtureRequest,
) -> None:
    out = tmp_path / "runs.txt"
    with Session(pg_engine) as session:
        for n in range(40):
            jobs.enqueue(session, "test.append", {"n": n, "path": str(out)})
        session.commit()
    env = _env(tmp_path, pg_url, local_store, request)
    workers = [_spawn(env, "worker", "--kinds", "test.append") for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Session(pg_engine) as session:
                pending = session.exec(
                    select(Job).where(Job.kind == "test.append", Job.state != JobState.done)
                ).all()
            if not pending:
                break
            time.sleep(0.2)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            assert proc.wait(30) == 0
    lines = out.read_text().split()
    numbers = [int(line.split()[0]) for line in out.read_text().splitlines()]
    assert sorted(numbers) == list(range(40))
    pids = {line.split()[1] for line in out.read_text().splitlines()}
    assert len(pids) == 2, "both workers should have taken jobs"
    assert lines
