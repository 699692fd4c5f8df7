"""The object store contract shared by the S3 and local-directory backends.

Methods are synchronous on purpose: boto3 is synchronous, and the async
callers run them in a threadpool rather than pulling in a second S3 client.
Every method streams, so a two-hour recording costs the same memory as a
two-minute one (design invariant 3).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from voicebridge import clock

CHUNK_SIZE = 64 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024
SHA256_METADATA_KEY = "sha256"

_NAME_RE = re.compile(r"^[a-z0-9_-]{1,20}$")
_KEY_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_MAX_KEY_LENGTH = 512


class StoreError(Exception):
    """An infrastructure failure of the object store, never an HTTP answer by itself."""


class ObjectNotFound(StoreError):
    pass


class UploadNotFound(ObjectNotFound):
    """The multipart upload was aborted, completed or never existed."""


class StoreUnavailable(StoreError):
    """The bucket or directory cannot be reached; readiness probes report this."""


class ObjectExists(StoreError):
    """Objects are write-once, so a second write to a key is refused, not merged."""


class BadDigest(StoreError):
    """The bytes that reached the store are not the bytes the caller hashed."""


class InvalidRange(StoreError):
    """The requested byte range starts past the end of the object (HTTP 416)."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None
    content_type: str | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class PartInfo:
    number: int
    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class ListedObject:
    key: str
    size: int
    modified: datetime


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    key: str
    upload_id: str
    initiated: datetime


class ObjectStore(Protocol):
    def put_file(
        self, key: str, path: Path, content_type: str, sha256: str | None = None
    ) -> ObjectInfo: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> ObjectInfo: ...

    def create_multipart(
        self, key: str, content_type: str, metadata: dict[str, str] | None = None
    ) -> str: ...

    def upload_part(
        self, key: str, upload_id: str, number: int, path: Path, size: int, md5: str | None = None
    ) -> PartInfo:
        """``md5`` is the part's MD5 (hex) if the caller hashed the bytes as it wrote
        them, so the file is read once, to send it; the store still checks it."""
        ...

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]: ...

    def complete_multipart(
        self, key: str, upload_id: str, parts: list[PartInfo], sha256: str | None = None
    ) -> ObjectInfo: ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...

    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartUpload]: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...

    def download_to(self, key: str, path: Path) -> None: ...

    def presigned_get_url(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str | None: ...

    def delete(self, key: str) -> None: ...

    def list_keys(self, prefix: str) -> Iterator[str]: ...

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        """Every object under ``prefix`` with its size, in byte order of key, from the
        listing alone (no request per object), so a full check can merge it with a
        query ordered the same way."""
        ...

    def check(self) -> None: ...

    def ensure_ready(self) -> None: ...


def new_key(kind: str, ext: str) -> str:
    """A fresh server-made key; no user text ever reaches a key or a path."""
    for label, value in (("kind", kind), ("ext", ext)):
        if not _NAME_RE.fullmatch(value):
            raise ValueError(f"{label} must match {_NAME_RE.pattern}")
    day = clock.now().strftime("%Y/%m/%d")
    return f"{kind}/{day}/{uuid.uuid4().hex}.{ext}"


def validate_key(key: str) -> str:
    """Refuse keys that could escape a directory or collide with the local store's
    hidden bookkeeping (``.tmp``, ``.meta``, ``.multipart``); both backends apply the
    same rule so a key that works in development works in production."""
    if not key or len(key) > _MAX_KEY_LENGTH:
        raise ValueError("object key must be 1-512 characters")
    for segment in key.split("/"):
        if not _KEY_SEGMENT_RE.fullmatch(segment):
            raise ValueError(f"invalid object key segment {segment!r}")
    return key


def validate_prefix(prefix: str) -> str:
    if prefix and any(part in {".", ".."} or part.startswith(".") for part in prefix.split("/")):
        raise ValueError(f"invalid key prefix {prefix!r}")
    return prefix


def validate_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError("byte range must satisfy 0 <= start <= end")


def file_digests(path: Path, size: int | None = None) -> tuple[str, str]:
    """SHA-256 and MD5 hex digests, read in chunks.

    S3 needs checksums in the headers, which go out before the body, so the
    file is read once to hash it and again to send it.
    """
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    remaining = size
    with path.open("rb") as fh:
        for chunk in iter_file(fh, remaining):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def file_md5(path: Path, size: int | None = None) -> str:
    """MD5 alone, for a part's Content-MD5: a part needs no SHA-256 of its own."""
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter_file(fh, size):
            md5.update(chunk)
    return md5.hexdigest()


def write_chunks(chunks: Iterator[bytes], path: Path) -> None:
    """Streams an object to disk chunk by chunk: a 2-hour recording never sits in memory."""
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)


def iter_file(fh: BinaryIO, remaining: int | None = None) -> Iterator[bytes]:
    while remaining is None or remaining > 0:
        want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
        chunk = fh.read(want)
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def check_part_size(path: Path, size: int) -> None:
    """The caller states the part size so that a truncated spool file is caught here,
    before it becomes a short part in a finished recording."""
    actual = path.stat().st_size
    if actual != size:
        raise ValueError(f"part file holds {actual} bytes, expected {size}")
