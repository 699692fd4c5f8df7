"""One contract, two backends: every test here runs on the local store and on SeaweedFS."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from voicebridge.storage import (
    BadDigest,
    InvalidRange,
    ObjectExists,
    ObjectNotFound,
    ObjectStore,
    StoreError,
    new_key,
)

MiB = 1024 * 1024


def write_random(path: Path, size: int) -> str:
    """Writes random bytes in 1 MiB pieces and returns their SHA-256."""
    sha = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(MiB, remaining))
            sha.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    return sha.hexdigest()


def read_all(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.open_range(key, start, end))


def test_new_key_has_kind_date_and_uuid() -> None:
    key = new_key("audio", "ogg")
    assert re.fullmatch(r"audio/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.ogg", key)
    assert new_key("audio", "ogg") != key


@pytest.mark.parametrize(
    ("kind", "ext"),
    [("Audio", "ogg"), ("audio", "../x"), ("", "ogg"), ("audio", "o g g"), ("a" * 21, "ogg")],
)
def test_new_key_refuses_unsafe_parts(kind: str, ext: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        new_key(kind, ext)


def test_put_file_then_head_reports_size_type_and_sha256(
    store: ObjectStore, tmp_path: Path
) -> None:
    source = tmp_path / "clip.ogg"
    digest = write_random(source, 300_000)
    key = new_key("audio", "ogg")

    info = store.put_file(key, source, "audio/ogg")

    assert info.sha256 == digest
    head = store.head(key)
    assert head is not None
    assert (head.size, head.sha256, head.content_type) == (300_000, digest, "audio/ogg")
    assert head.etag == info.etag


def test_put_file_refuses_wrong_sha256(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "clip.ogg"
    write_random(source, 1000)
    key = new_key("audio", "ogg")

    with pytest.raises(StoreError):
        store.put_file(key, source, "audio/ogg", sha256=hashlib.sha256(b"other").hexdigest())

    assert store.head(key) is None


def test_ranges_follow_http_inclusive_semantics(store: ObjectStore) -> None:
    data = bytes(range(256)) * 1000
    key = new_key("manifest", "bin")
    store.put_bytes(key, data, "application/octet-stream")

    assert read_all(store, key) == data
    assert read_all(store, key, 0, 0) == data[:1]
    assert read_all(store, key, 1000, 70_999) == data[1000:71_000]
    assert read_all(store, key, len(data) - 1, len(data) - 1) == data[-1:]
    assert read_all(store, key, 255_000) == data[255_000:]
    assert read_all(store, key, 255_990, 10**9) == data[255_990:]


def test_range_past_end_is_refused(store: ObjectStore) -> None:
    key = new_key("manifest", "json")
    store.put_bytes(key, b"{}", "application/json")

    with pytest.raises(InvalidRange):
        read_all(store, key, 2)


def test_chunks_are_bounded(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "clip.ogg"
    write_random(source, 2 * MiB)
    key = new_key("audio", "ogg")
    store.put_file(key, source, "audio/ogg")

    assert max(len(chunk) for chunk in store.open_range(key)) <= 64 * 1024


def test_objects_are_never_overwritten(store: ObjectStore, tmp_path: Path) -> None:
    key = new_key("manifest", "json")
    store.put_bytes(key, b'{"v": 1}', "application/json")
    source = tmp_path / "other.json"
    source.write_bytes(b'{"v": 2}')

    with pytest.raises(ObjectExists):
        store.put_bytes(key, b'{"v": 2}', "application/json")
    with pytest.raises(ObjectExists):
        store.put_file(key, source, "application/json")

    assert read_all(store, key) == b'{"v": 1}'


def test_missing_objects(store: ObjectStore) -> None:
    key = new_key("audio", "ogg")

    assert store.head(key) is None
    with pytest.raises(ObjectNotFound):
        store.open_range(key)


def test_a_key_prefix_is_not_an_object(store: ObjectStore) -> None:
    key = new_key("audio", "ogg")
    store.put_bytes(key, b"voice", "audio/ogg")
    prefix = key.rsplit("/", 1)[0]

    assert store.head(prefix) is None
    with pytest.raises(ObjectNotFound):
        store.open_range(prefix)


def test_delete_is_idempotent(store: ObjectStore) -> None:
    key = new_key("manifest", "json")
    store.put_bytes(key, b"{}", "application/json")

    store.delete(key)
    store.delete(key)

    assert store.head(key) is None
    assert list(store.list_keys("manifest/")) == []


def test_list_keys_by_prefix(store: ObjectStore) -> None:
    audio = sorted(new_key("audio", "ogg") for _ in range(3))
    for key in audio:
        store.put_bytes(key, b"x", "audio/ogg")
    store.put_bytes(new_key("image", "png"), b"x", "image/png")

    assert sorted(store.list_keys("audio/")) == audio


def test_download_to_writes_the_object(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "clip.ogg"
    digest = write_random(source, 3 * MiB + 17)
    key = new_key("audio", "ogg")
    store.put_file(key, source, "audio/ogg")

    target = tmp_path / "copy.ogg"
    store.download_to(key, target)

    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a/../../b", "a//b", ".tmp/x", ""])
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        store.put_bytes(key, b"x", "text/plain")
    with pytest.raises(ValueError, match="key"):
        store.head(key)


def test_multipart_upload_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    sizes = [5 * MiB, 5 * MiB, 123_457]
    paths = [tmp_path / f"part{n}" for n in range(1, 4)]
    for path, size in zip(paths, sizes, strict=True):
        write_random(path, size)
    whole = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
    key = new_key("audio", "ogg")

    upload_id = store.create_multipart(key, "audio/ogg", metadata={"sha256": whole})
    parts = [
        store.upload_part(key, upload_id, n, path, size)
        for n, (path, size) in enumerate(zip(paths, sizes, strict=True), start=1)
    ]

    assert [(p.number, p.size) for p in store.list_parts(key, upload_id)] == [
        (1, 5 * MiB),
        (2, 5 * MiB),
        (3, 123_457),
    ]
    assert [p.etag for p in store.list_parts(key, upload_id)] == [p.etag for p in parts]
    assert [u.upload_id for u in store.list_multipart_uploads("audio/")] == [upload_id]
    assert store.head(key) is None

    info = store.complete_multipart(key, upload_id, parts)

    assert (info.size, info.sha256, info.content_type) == (sum(sizes), whole, "audio/ogg")
    target = tmp_path / "whole"
    store.download_to(key, target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == whole
    assert store.list_multipart_uploads("audio/") == []


def test_multipart_parts_can_be_reuploaded(store: ObjectStore, tmp_path: Path) -> None:
    """A client that lost the answer to a part upload sends the same part again."""
    part = tmp_path / "part"
    write_random(part, 1000)
    key = new_key("audio", "ogg")
    upload_id = store.create_multipart(key, "audio/ogg")

    first = store.upload_part(key, upload_id, 1, part, 1000)
    again = store.upload_part(key, upload_id, 1, part, 1000)
    info = store.complete_multipart(key, upload_id, [again])

    assert first.etag == again.etag
    assert info.size == 1000
    assert info.sha256 is None


def test_multipart_refuses_small_middle_part(store: ObjectStore, tmp_path: Path) -> None:
    part = tmp_path / "part"
    write_random(part, 1000)
    key = new_key("audio", "ogg")
    upload_id = store.create_multipart(key, "audio/ogg")
    parts = [store.upload_part(key, upload_id, n, part, 1000) for n in (1, 2)]

    with pytest.raises(StoreError):
        store.complete_multipart(key, upload_id, parts)

    assert store.head(key) is None


def test_upload_part_with_the_md5_the_caller_hashed(store: ObjectStore, tmp_path: Path) -> None:
    """The spool hashes a part as it writes it, so the part is read once, to send it;
    the store still checks those bytes against that MD5 and refuses a mismatch."""
    part = tmp_path / "part"
    write_random(part, 1000)
    md5 = hashlib.md5(part.read_bytes(), usedforsecurity=False).hexdigest()
    key = new_key("audio", "ogg")
    upload_id = store.create_multipart(key, "audio/ogg")

    with pytest.raises(BadDigest):
        store.upload_part(key, upload_id, 1, part, 1000, md5="0" * 32)
    sent = store.upload_part(key, upload_id, 1, part, 1000, md5=md5)
    info = store.complete_multipart(key, upload_id, [sent])

    assert info.size == 1000
    assert read_all(store, key) == part.read_bytes()


def test_upload_part_checks_the_stated_size(store: ObjectStore, tmp_path: Path) -> None:
    part = tmp_path / "part"
    write_random(part, 1000)
    key = new_key("audio", "ogg")
    upload_id = store.create_multipart(key, "audio/ogg")

    with pytest.raises(ValueError, match="expected 1001"):
        store.upload_part(key, upload_id, 1, part, 1001)


def test_abort_removes_upload_and_is_idempotent(store: ObjectStore, tmp_path: Path) -> None:
    part = tmp_path / "part"
    write_random(part, 1000)
    key = new_key("audio", "ogg")
    kept_key = new_key("audio", "ogg")
    upload_id = store.create_multipart(key, "audio/ogg")
    kept_id = store.create_multipart(kept_key, "audio/ogg")
    store.upload_part(key, upload_id, 1, part, 1000)

    store.abort_multipart(key, upload_id)
    store.abort_multipart(key, upload_id)
    store.abort_multipart(key, "0123456789abcdef0123456789abcdef")

    uploads = store.list_multipart_uploads()
    assert [(u.key, u.upload_id) for u in uploads] == [(kept_key, kept_id)]
    assert uploads[0].initiated.utcoffset() is not None
    assert uploads[0].initiated.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    with pytest.raises(ObjectNotFound):
        store.upload_part(key, upload_id, 2, part, 1000)
    assert store.head(key) is None
