"""Two API processes, one upload: only one may write it at a time.

A phone that times out and retries can reach another API process while its
first PATCH is still streaming into the first. The claim on the upload lives
in the database, so the second PATCH is refused with 409 wherever it lands,
and the upload ends byte for byte what the phone sent.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests.audio.make import make_recording
from tests.uploads.conftest import PART, TUS, metadata_header, upload_settings
from tests.uploads.live import free_port, guardian_headers
from tests.uploads.test_crash import _env, _kill, _spawn, pg_engine, pg_url  # noqa: F401
from voicebridge import processes
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads import service
from voicebridge.uploads.models import Upload

OCTET = {"Content-Type": "application/offset+octet-stream"}
# Two servers importing at once on a shared, busy machine can take a while.
START_SECONDS = 120


def _apis(env: dict[str, str], count: int) -> list[tuple[subprocess.Popen[bytes], str]]:
    procs = []
    for _ in range(count):
        port = free_port()
        procs.append((_spawn(env, "api", str(port)), f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + START_SECONDS
    for proc, base in procs:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    for other, _ in procs:
                        other.kill()
                    raise RuntimeError("API did not start") from None
                time.sleep(0.2)
    return procs


def test_second_process_gets_409_and_the_upload_stays_whole(
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    pg_engine: Engine,  # noqa: F811
    store: ObjectStore,
    request: pytest.FixtureRequest,
) -> None:
    settings = upload_settings(tmp_path)
    env = _env(tmp_path, pg_url, store, request, settings.auth.secret_key)
    data = make_recording(tmp_path / "talk.wav", "wav", 150).read_bytes()
    assert len(data) > 2 * PART
    headers = {**guardian_headers(pg_engine, settings), **TUS}
    go_on = threading.Event()
    (first, base_a), (second, base_b) = _apis(env, 2)
    try:
        created = httpx.post(
            f"{base_a}/api/v1/uploads",
            headers={
                **headers,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": metadata_header(purpose="test", filetype="audio/wav"),
            },
        )
        assert created.status_code == 201, created.text
        path = created.headers["Location"].removeprefix(base_a)
        upload_id = uuid.UUID(path.rsplit("/", 1)[1])

        def slow_body() -> Iterator[bytes]:
            step = 256 * 1024
            for start in range(0, len(data), step):
                if start == 4 * step:
                    go_on.wait(30)  # the other process tries while this one writes
                yield data[start : start + step]

        answers: dict[str, httpx.Response] = {}

        def patch_first() -> None:
            answers["first"] = httpx.patch(
                base_a + path,
                content=slow_body(),
                headers={**headers, **OCTET, "Upload-Offset": "0"},
                timeout=60,
            )

        writer = threading.Thread(target=patch_first)
        writer.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Session(pg_engine) as session:
                upload = session.get(Upload, upload_id)
                assert upload is not None
                if upload.writer is not None:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the first PATCH never claimed the upload")

        refused = httpx.patch(
            base_b + path,
            content=data[:PART],
            headers={**headers, **OCTET, "Upload-Offset": "0"},
            timeout=30,
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/upload-busy")
        # A HEAD meanwhile, from the other process, reports without repairing.
        assert httpx.head(base_b + path, headers=headers).status_code == 200
        go_on.set()
        writer.join(60)
        assert answers["first"].status_code == 204, answers["first"].text
        assert int(answers["first"].headers["Upload-Offset"]) == len(data)
    finally:
        go_on.set()
        _kill(first)
        _kill(second)

    with Session(pg_engine) as session:
        upload = session.get(Upload, upload_id)
        assert upload is not None
        assert upload.completed_at is not None
        assert upload.writer is None
        asset = session.get(AudioAsset, upload.asset_id)
        assert asset is not None
        assert asset.state is AssetState.processing
        assert asset.original_key is not None
    original = tmp_path / "original"
    store.download_to(asset.original_key, original)
    assert original.read_bytes() == data


def test_a_writer_whose_process_died_is_known_dead_and_others_are_left_to_the_hold() -> None:
    me = processes.this_process()
    host = me.rsplit(":", 2)[0]
    assert not service.writer_gone(f"{me}:3")
    # This host, a pid that does not exist: the API that held it was killed.
    assert service.writer_gone(f"{host}:999999999:12345:1")
    # Another host cannot be checked from here; nor can a writer named by an older release.
    assert not service.writer_gone("api-elsewhere:4242:777:1")
    assert not service.writer_gone(f"{host}:4242:0123456789ab")
