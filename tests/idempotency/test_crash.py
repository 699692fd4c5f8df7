"""Issue 17: a keyed request killed in flight is retried with the same key and takes
effect once; a replayed tus creation carries everything a client needs to resume."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select
from tusclient import client as tus_client

from tests.audio.make import make_recording
from tests.factories import Factory
from tests.uploads.conftest import TUS, metadata_header, upload_settings
from tests.uploads.live import guardian_headers, run_jobs, serve
from tests.uploads.test_crash import _api, _env, _kill, pg_engine, pg_url  # noqa: F401
from voicebridge.accounts.models import User
from voicebridge.idempotency.models import IdempotencyRecord
from voicebridge.messages import service as messages
from voicebridge.messages.models import Message
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.models import Upload

PROTOCOL_HEADERS = ("location", "upload-offset", "upload-length", "tus-resumable", "asset-id")


def test_sigkill_inside_a_keyed_request_then_the_retry_creates_one_upload(
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    pg_engine: Engine,  # noqa: F811
    local_store: ObjectStore,
    request: pytest.FixtureRequest,
) -> None:
    settings = upload_settings(tmp_path)
    env = _env(tmp_path, pg_url, local_store, request, settings.auth.secret_key)
    # A long lease: the retry must not have to wait for it, the dead holder is seen at once.
    env["VOICEBRIDGE_IDEMPOTENCY__LEASE_SECONDS"] = "600"
    headers = {
        **guardian_headers(pg_engine, settings),
        **TUS,
        "Idempotency-Key": "recording-7d1e",
        "Upload-Length": "48000",
        "Upload-Metadata": metadata_header(purpose="test", filetype="audio/wav"),
    }
    api, base = _api(env)
    # Hold the request inside its transaction: another connection locks the table
    # it writes, so the request has claimed its key and waits when it is killed.
    blocker = pg_engine.connect()
    blocker.execute(text("LOCK TABLE uploads IN EXCLUSIVE MODE"))
    outcome: list[object] = []

    def first_attempt() -> None:
        try:
            outcome.append(httpx.post(f"{base}/api/v1/uploads", headers=headers, timeout=30))
        except httpx.TransportError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=first_attempt)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with Session(pg_engine) as session:
            held = session.exec(
                select(IdempotencyRecord).where(col(IdempotencyRecord.holder).is_not(None))
            ).first()
        if held is not None:
            break
        time.sleep(0.05)
    assert held is not None, "the request never claimed its key"
    # While its holder lives, a copy of the request is told to wait.
    busy = httpx.post(f"{base}/api/v1/uploads", headers=headers, timeout=10)
    assert busy.status_code == 409, busy.text
    assert busy.headers["retry-after"] == "2"

    _kill(api)
    blocker.rollback()
    blocker.close()
    thread.join(30)
    assert isinstance(outcome[0], httpx.TransportError)

    api, base = _api(env)
    try:
        started = time.monotonic()
        retry = httpx.post(f"{base}/api/v1/uploads", headers=headers, timeout=30)
        assert retry.status_code == 201, retry.text
        assert time.monotonic() - started < 10, "the retry waited for the lease"
        replay = httpx.post(f"{base}/api/v1/uploads", headers=headers, timeout=30)
    finally:
        _kill(api)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    for name in PROTOCOL_HEADERS:
        assert replay.headers[name] == retry.headers[name], name
    with Session(pg_engine) as session:
        uploads = session.exec(select(Upload)).all()
        assert len(uploads) == 1
        assert str(uploads[0].id) == retry.headers["location"].rsplit("/", 1)[1]
        record = session.exec(select(IdempotencyRecord)).one()
        assert record.completed_at is not None
        assert record.holder is None


def test_tus_client_whose_creation_answer_was_lost_resumes_the_same_upload(
    tmp_path: Path,
    committed_url: str,
    committed_engine: Engine,
    local_store: ObjectStore,
) -> None:
    recording = make_recording(tmp_path / "goodnight.wav", "wav", 20)
    settings = upload_settings(tmp_path).model_copy(update={"database_url": committed_url})
    with Session(committed_engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        school = factory.school()
        factory.staff(school)
        child = factory.child(school)
        guardian, _ = factory.guardian_of(child)
        child_user = session.get(User, child.id)
        assert child_user is not None
        thread = messages.open_thread(session, guardian, child, None)
        parent_h = {**factory.headers(guardian), "Idempotency-Key": f"tus-{uuid.uuid4()}"}
        session.commit()
    meta = {"purpose": "message", "thread_id": str(thread.id), "filename": "goodnight.wav"}
    size = recording.stat().st_size
    with serve(settings, committed_engine, local_store) as base:
        # The phone's first creation reaches the server; its answer is lost on the way back.
        lost = httpx.post(
            f"{base}/api/v1/uploads",
            headers={
                **parent_h,
                **TUS,
                "Upload-Length": str(size),
                "Upload-Metadata": metadata_header(**meta),
            },
            # A first request can take seconds on a shared, busy machine (httpx waits 5 s).
            timeout=60,
        )
        assert lost.status_code == 201
        phone = tus_client.TusClient(f"{base}/api/v1/uploads", headers=parent_h)
        uploader = phone.uploader(str(recording), chunk_size=64 * 1024, metadata=meta)
        url = uploader.create_url()
        assert url == lost.headers["location"]
        resumed = phone.uploader(str(recording), url=url, chunk_size=64 * 1024)
        assert resumed.get_offset() == 0
        resumed.upload()
        assert run_jobs(committed_engine, settings, local_store) >= 1
    with Session(committed_engine) as session:
        assert session.exec(select(func.count()).select_from(Upload)).one() == 1
        sent = session.exec(select(Message).where(Message.thread_id == thread.id)).all()
        assert len(sent) == 1
