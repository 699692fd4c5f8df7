"""The tus protocol as a client sees it, on the local store and on SeaweedFS S3."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import Factory
from tests.uploads.conftest import PART, TUS, RecordingPurpose, metadata_header
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.jobs.models import Job
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.models import Upload

URL = "/api/v1/uploads"
OCTET = {"Content-Type": "application/offset+octet-stream"}


def _create(tus: TestClient, headers: dict[str, str], length: int, **meta: str) -> str:
    meta = {"purpose": "test", "filename": "a.ogg", "filetype": "audio/ogg", **meta}
    response = tus.post(
        URL,
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata_header(**meta),
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    return response.headers["Location"]


def _patch(
    tus: TestClient, location: str, headers: dict[str, str], offset: int, data: bytes, **extra: str
):  # type: ignore[no-untyped-def]
    return tus.patch(
        location,
        content=data,
        headers={**headers, **TUS, **OCTET, "Upload-Offset": str(offset), **extra},
    )


def _offset(tus: TestClient, location: str, headers: dict[str, str]) -> int:
    response = tus.head(location, headers={**headers, **TUS})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def test_options_advertises_the_extensions(tus: TestClient) -> None:
    response = tus.options(URL)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert int(response.headers["Tus-Max-Size"]) == 64 * 1024 * 1024


def test_chunked_upload_becomes_one_original_and_queues_processing(
    tus: TestClient,
    factory: Factory,
    session: Session,
    store: ObjectStore,
    purpose: RecordingPurpose,
) -> None:
    user = factory.user(Role.guardian)
    headers = factory.headers(user)
    data = os.urandom(2 * PART + 12345)
    location = _create(tus, headers, len(data))
    assert purpose.calls
    assert purpose.calls[0][0] == "created"
    head = tus.head(location, headers={**headers, **TUS})
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    assert "GMT" in head.headers["Upload-Expires"]
    offset = 0
    for size in (1_000_000, 3 * 1024 * 1024, 4 * 1024 * 1024, len(data)):
        chunk = data[offset : offset + size]
        response = _patch(tus, location, headers, offset, chunk)
        assert response.status_code == 204, response.text
        offset += len(chunk)
        assert int(response.headers["Upload-Offset"]) == offset
        assert _offset(tus, location, headers) == offset
        if offset == len(data):
            break
    upload = session.get(Upload, uuid.UUID(location.rsplit("/", 1)[1]))
    assert upload is not None
    assert upload.completed_at is not None
    assert len(upload.parts) >= 2
    asset = session.get(AudioAsset, upload.asset_id)
    assert asset is not None
    assert asset.state is AssetState.processing
    assert asset.original_size == len(data)
    stored = b"".join(store.open_range(asset.original_key or ""))
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    jobs = [
        j for j in session.exec(select(Job)).all() if j.payload.get("asset_id") == str(asset.id)
    ]
    assert [j.kind for j in jobs] == ["audio.process"]


def test_creation_with_upload(tus: TestClient, factory: Factory, session: Session) -> None:
    user = factory.user(Role.guardian)
    headers = factory.headers(user)
    response = tus.post(
        URL,
        content=b"x" * 1000,
        headers={
            **headers,
            **TUS,
            **OCTET,
            "Upload-Length": "3000",
            "Upload-Metadata": metadata_header(purpose="test"),
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["Upload-Offset"] == "1000"
    assert _offset(tus, response.headers["Location"], headers) == 1000


def test_wrong_offset_is_409_and_changes_nothing(tus: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    location = _create(tus, headers, 5000)
    assert _patch(tus, location, headers, 0, b"a" * 100).status_code == 204
    response = _patch(tus, location, headers, 50, b"b" * 100)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert _offset(tus, location, headers) == 100


def test_checksum_mismatch_is_460_and_drops_the_chunk(tus: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    location = _create(tus, headers, 5000)
    good = b"a" * 100
    digest = base64.b64encode(hashlib.sha1(good).digest()).decode()
    assert (
        _patch(tus, location, headers, 0, good, **{"Upload-Checksum": f"sha1 {digest}"}).status_code
        == 204
    )
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = _patch(
        tus, location, headers, 100, b"b" * 100, **{"Upload-Checksum": f"sha256 {bad}"}
    )
    assert response.status_code == 460
    assert "checksum mismatch" in response.text
    assert _offset(tus, location, headers) == 100
    fine = base64.b64encode(hashlib.sha256(b"c" * 100).digest()).decode()
    ok = _patch(tus, location, headers, 100, b"c" * 100, **{"Upload-Checksum": f"sha256 {fine}"})
    assert ok.status_code == 204
    assert ok.headers["Upload-Offset"] == "200"


def test_wrong_content_type_is_415(tus: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    location = _create(tus, headers, 5000)
    response = tus.patch(
        location,
        content=b"a",
        headers={**headers, **TUS, "Upload-Offset": "0", "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert _offset(tus, location, headers) == 0


def test_expired_upload_is_gone(
    tus: TestClient, factory: Factory, session: Session, settings: object
) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    location = _create(tus, headers, 5000)
    upload = session.get(Upload, uuid.UUID(location.rsplit("/", 1)[1]))
    assert upload is not None
    upload.expires_at = clock.now() - timedelta(seconds=1)
    session.add(upload)
    session.commit()
    assert tus.head(location, headers={**headers, **TUS}).status_code == 410
    assert _patch(tus, location, headers, 0, b"a").status_code == 410


def test_someone_elses_upload_is_not_found(tus: TestClient, factory: Factory) -> None:
    owner = factory.headers(factory.user(Role.guardian))
    other = factory.headers(factory.user(Role.guardian))
    location = _create(tus, owner, 5000)
    assert tus.head(location, headers={**other, **TUS}).status_code == 404
    assert _patch(tus, location, other, 0, b"a").status_code == 404
    assert tus.delete(location, headers={**other, **TUS}).status_code == 404
    assert _offset(tus, location, owner) == 0


def test_too_large_is_413(tus: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    response = tus.post(
        URL,
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(64 * 1024 * 1024 + 1),
            "Upload-Metadata": metadata_header(purpose="test"),
        },
    )
    assert response.status_code == 413


def test_missing_tus_resumable_is_412(tus: TestClient, factory: Factory) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    response = tus.post(URL, headers={**headers, "Upload-Length": "10"})
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"


def test_unknown_or_refused_purpose_creates_nothing(
    tus: TestClient, factory: Factory, session: Session
) -> None:
    user = factory.user(Role.guardian)
    headers = factory.headers(user)
    before = len(session.exec(select(AudioAsset)).all())
    for meta, status in (
        (metadata_header(purpose="nope"), 422),
        (metadata_header(purpose="test", deny="1"), 403),
    ):
        response = tus.post(
            URL, headers={**headers, **TUS, "Upload-Length": "10", "Upload-Metadata": meta}
        )
        assert response.status_code == status
    assert len(session.exec(select(AudioAsset)).all()) == before


def test_termination_aborts_and_fails_the_asset(
    tus: TestClient,
    factory: Factory,
    session: Session,
    store: ObjectStore,
    purpose: RecordingPurpose,
) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    location = _create(tus, headers, 2 * PART)
    assert _patch(tus, location, headers, 0, os.urandom(PART + 10)).status_code == 204
    assert len(store.list_multipart_uploads("original/")) == 1
    assert tus.delete(location, headers={**headers, **TUS}).status_code == 204
    assert tus.head(location, headers={**headers, **TUS}).status_code == 404
    assert store.list_multipart_uploads("original/") == []
    assert purpose.calls[-1][0] == "failed"


def test_single_request_upload(
    tus: TestClient, factory: Factory, session: Session, store: ObjectStore
) -> None:
    headers = factory.headers(factory.user(Role.guardian))
    data = os.urandom(50_000)
    response = tus.post(
        f"{URL}/single?purpose=test", content=data, headers={**headers, "Content-Type": "audio/ogg"}
    )
    assert response.status_code == 201, response.text
    asset = session.get(AudioAsset, uuid.UUID(response.json()["asset_id"]))
    assert asset is not None
    assert asset.state is AssetState.processing
    assert asset.original_sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(store.open_range(asset.original_key or "")) == data
