"""Several parts of one upload on their way to S3 at once, and what a refused part leaves.

The store is the real S3 store on SeaweedFS. Its boto3 client is wrapped only
to watch the calls: the wrapper counts part uploads in flight at the same
moment, and every byte still goes to SeaweedFS, which answers as it would.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from tests.uploads.conftest import PART, TUS, metadata_header
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.config import Settings
from voicebridge.storage.s3 import S3ObjectStore
from voicebridge.uploads import spool
from voicebridge.uploads.ingest import BATCH_BYTES
from voicebridge.uploads.models import Upload

URL = "/api/v1/uploads"
OCTET = {"Content-Type": "application/offset+octet-stream"}
# Parts are cut at batch boundaries: 5 MiB parts in the tests become 8 MiB ones.
CUT = -(-PART // BATCH_BYTES) * BATCH_BYTES
# Four parts: three full ones and a short last one.
SIZE = 3 * CUT + 12345
# How long the first part waits for a second to start before it goes anyway.
HOLD_SECONDS = 10.0


class WatchedClient:
    """The real boto3 client, with its part uploads counted while they run.

    The first part waits (at most ``HOLD_SECONDS``) until a second one starts,
    so on a busy machine the first cannot finish before the next is cut and
    the count shows overlap only where the service really sends in parallel.
    A service that sends one part at a time never starts a second while the
    first waits: the peak stays 1 and the test fails.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._overlap = threading.Event()
        self.now = 0
        self.peak = 0
        self.calls: list[int] = []
        self.spoil: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def upload_part(self, **kwargs: Any) -> Any:
        number = int(kwargs["PartNumber"])
        with self._lock:
            self.calls.append(number)
            self.now += 1
            self.peak = max(self.peak, self.now)
            if self.now >= 2:
                self._overlap.set()
            if number in self.spoil:
                # The bytes sent are not the bytes hashed (a flipped bit on the
                # way): SeaweedFS itself refuses the part with BadDigest.
                self.spoil.discard(number)
                kwargs["ContentMD5"] = base64.b64encode(hashlib.md5(b"").digest()).decode()
        try:
            self._overlap.wait(HOLD_SECONDS)
            return self._client.upload_part(**kwargs)
        finally:
            with self._lock:
                self.now -= 1


@pytest.fixture
def watched(s3_store: S3ObjectStore) -> WatchedClient:
    client = WatchedClient(s3_store.client)
    s3_store.client = client  # type: ignore[assignment]
    return client


@pytest.fixture
def store(s3_store: S3ObjectStore, watched: WatchedClient) -> S3ObjectStore:
    """The upload fixtures (``tus``) run on the watched S3 store only."""
    return s3_store


def _create(tus: TestClient, headers: dict[str, str], length: int) -> str:
    response = tus.post(
        URL,
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata_header(purpose="test", filetype="audio/ogg"),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.headers["Location"])


def _patch(tus: TestClient, location: str, headers: dict[str, str], offset: int, data: bytes):  # type: ignore[no-untyped-def]
    return tus.patch(
        location, content=data, headers={**headers, **TUS, **OCTET, "Upload-Offset": str(offset)}
    )


def _upload(session: Session, location: str) -> Upload:
    upload = session.get(Upload, uuid.UUID(location.rsplit("/", 1)[1]), populate_existing=True)
    assert upload is not None
    return upload


def _stored(session: Session, store: S3ObjectStore, upload: Upload) -> tuple[AudioAsset, bytes]:
    asset = session.get(AudioAsset, upload.asset_id, populate_existing=True)
    assert asset is not None
    return asset, b"".join(store.open_range(asset.original_key or ""))


def test_parts_of_one_upload_are_sent_at_once(
    tus: TestClient,
    factory: Factory,
    session: Session,
    store: S3ObjectStore,
    watched: WatchedClient,
) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    data = os.urandom(SIZE)
    location = _create(tus, headers, len(data))

    response = _patch(tus, location, headers, 0, data)

    assert response.status_code == 204, response.text
    assert watched.peak >= 2, f"parts went one at a time: {watched.calls}"
    upload = _upload(session, location)
    assert upload.completed_at is not None
    assert [p["number"] for p in upload.parts] == [1, 2, 3, 4]
    assert [p["size"] for p in upload.parts] == [CUT, CUT, CUT, 12345]
    assert sorted(watched.calls) == [1, 2, 3, 4], "a part was sent twice"
    asset, stored = _stored(session, store, upload)
    assert asset.state is AssetState.processing
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    # Hashed once, as the bytes arrived; the transcode job will not hash it again.
    assert asset.original_sha256 == hashlib.sha256(data).hexdigest()


def test_a_refused_part_ends_the_request_cleanly_and_the_upload_resumes(
    tus: TestClient,
    factory: Factory,
    session: Session,
    settings: Settings,
    store: S3ObjectStore,
    watched: WatchedClient,
) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    data = os.urandom(SIZE)
    location = _create(tus, headers, len(data))
    watched.spoil.add(2)

    refused = _patch(tus, location, headers, 0, data)

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) > 0
    upload = _upload(session, location)
    assert upload.completed_at is None
    assert upload.writer is None, "the refused request still holds the upload"
    # Part 1 (and any part in flight beside part 2) was recorded; part 2's bytes
    # wait in their part file; nothing counted is missing from disk or store.
    recorded = {int(p["number"]) for p in upload.parts}
    assert 1 in recorded
    assert 2 not in recorded
    pending = spool.pending_parts(settings, upload.id)
    assert [n for n, _ in pending] == [2]
    on_disk = sum(spool.size(path) for _, path in pending)
    on_disk += spool.size(spool.spool_file(settings, upload.id))
    assert upload.offset == upload.parts_bytes + on_disk
    assert upload.offset >= 2 * CUT

    # The client asks where to go on (which also sends the waiting part) and resumes.
    head = tus.head(location, headers={**headers, **TUS})
    assert head.status_code == 200, head.text
    offset = int(head.headers["Upload-Offset"])
    assert offset == upload.offset, "the offset went back: acknowledged bytes were lost"
    if offset < len(data):
        rest = _patch(tus, location, headers, offset, data[offset:])
        assert rest.status_code == 204, rest.text

    upload = _upload(session, location)
    assert upload.completed_at is not None
    assert [p["number"] for p in upload.parts] == [1, 2, 3, 4]
    assert watched.calls.count(2) == 2, "part 2 was not sent again"
    assert spool.pending_parts(settings, upload.id) == []
    asset, stored = _stored(session, store, upload)
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    # The digest went on across the refused request (same process) and is the right one.
    assert asset.original_sha256 == hashlib.sha256(data).hexdigest()


def test_after_a_crash_parts_are_kept_up_to_the_first_gap(
    tus: TestClient, factory: Factory, session: Session, settings: Settings, tmp_path: Path
) -> None:
    """Parts finish in any order, so a crash can leave part 3 recorded and part 2 a
    file. With the files, nothing is lost; without part 2 (the spool disk lost),
    the offset falls back to part 1 and part 3 is forgotten, to be sent again."""
    from voicebridge.uploads import service

    headers = factory.headers(factory.user(Role.guardian))
    location = _create(tus, headers, 6 * CUT)
    upload = _upload(session, location)

    def _file(path: Path, size: int) -> Path:
        path.write_bytes(b"x" * size)
        return path

    upload.parts = [
        {"number": 1, "etag": "a", "size": CUT},
        {"number": 3, "etag": "c", "size": CUT},
    ]
    upload.offset = 4 * CUT + 100
    spooled = _file(spool.spool_file(settings, upload.id), 100 + 50)  # 50 never counted
    part2 = _file(spool.pending_file(settings, upload.id, 2), CUT)
    part4 = _file(spool.pending_file(settings, upload.id, 4), CUT)
    stale = _file(spool.pending_file(settings, upload.id, 3), CUT)

    service.reconcile(session, upload, spooled, spool.pending_parts(settings, upload.id))

    assert upload.offset == 4 * CUT + 100
    assert [p["number"] for p in upload.parts] == [1, 3]
    assert spool.size(spooled) == 100
    assert part2.exists()
    assert part4.exists()
    assert not stale.exists()

    part2.unlink()
    service.reconcile(session, upload, spooled, spool.pending_parts(settings, upload.id))

    assert upload.offset == CUT
    assert [p["number"] for p in upload.parts] == [1]
    assert not part4.exists()
    assert spool.size(spooled) == 0
    assert service.next_part_number(upload) == 2
