"""A directory on local disk behaving like a write-once S3 bucket.

This is the embedded default for a single school district on one machine, so
it must survive a crash or power cut without leaving a half-written object
under its final name: every write lands in ``.tmp`` first, is fsynced, and is
then linked into place in one step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO, TypedDict, cast

from voicebridge import clock
from voicebridge.storage.base import (
    MIN_PART_SIZE,
    SHA256_METADATA_KEY,
    BadDigest,
    InvalidRange,
    ListedObject,
    MultipartUpload,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    PartInfo,
    StoreError,
    StoreUnavailable,
    UploadNotFound,
    check_part_size,
    iter_file,
    validate_key,
    validate_prefix,
    validate_range,
    write_chunks,
)

_UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_PART_NAME = "part-{:05d}"


class _UploadMeta(TypedDict):
    key: str
    content_type: str
    initiated: str
    metadata: dict[str, str]


class _ObjectMeta(TypedDict, total=False):
    sha256: str
    content_type: str
    etag: str


class LocalObjectStore:
    def __init__(self, root: Path, create: bool = True) -> None:
        self.root = root.resolve()
        self.create = create
        self._tmp = self.root / ".tmp"
        self._meta = self.root / ".meta"
        self._multipart = self.root / ".multipart"

    def ensure_ready(self) -> None:
        if self.create:
            for directory in (self.root, self._tmp, self._meta, self._multipart):
                directory.mkdir(parents=True, exist_ok=True)
        self.check()

    def check(self) -> None:
        for directory in (self.root, self._tmp, self._meta, self._multipart):
            if not directory.is_dir():
                raise StoreUnavailable(f"{directory} is missing")
        try:
            with tempfile.NamedTemporaryFile(dir=self._tmp, prefix="check-"):
                pass
        except OSError as exc:
            raise StoreUnavailable(f"{self.root} is not writable: {exc}") from exc

    def put_file(
        self, key: str, path: Path, content_type: str, sha256: str | None = None
    ) -> ObjectInfo:
        with path.open("rb") as src:
            return self._write_new(key, src, content_type, sha256)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        return self._write_chunks(key, iter((data,)), content_type, None)

    def create_multipart(
        self, key: str, content_type: str, metadata: dict[str, str] | None = None
    ) -> str:
        validate_key(key)
        upload_id = uuid.uuid4().hex
        directory = self._multipart / upload_id
        directory.mkdir(parents=True)
        meta: _UploadMeta = {
            "key": key,
            "content_type": content_type,
            "initiated": clock.now().isoformat(),
            "metadata": dict(metadata or {}),
        }
        _write_json_atomic(directory / "upload.json", meta, self._tmp)
        return upload_id

    def upload_part(
        self, key: str, upload_id: str, number: int, path: Path, size: int, md5: str | None = None
    ) -> PartInfo:
        if not 1 <= number <= 10_000:
            raise ValueError("part number must be between 1 and 10000")
        directory = self._upload_dir(key, upload_id)
        check_part_size(path, size)
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as src, self._temp_file() as (tmp_path, out):
            for chunk in iter_file(src, size):
                digest.update(chunk)
                out.write(chunk)
            # As S3 does with Content-MD5: a part whose bytes differ from what the
            # caller hashed is refused, and the part number keeps its old bytes.
            if md5 is not None and digest.hexdigest() != md5:
                raise BadDigest(f"{key}: part {number} does not match its MD5")
            _sync(out)
            os.replace(tmp_path, directory / _PART_NAME.format(number))
        return PartInfo(number=number, etag=digest.hexdigest(), size=size)

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        directory = self._upload_dir(key, upload_id)
        parts = []
        for part in sorted(directory.glob("part-*")):
            md5 = hashlib.md5(usedforsecurity=False)
            with part.open("rb") as fh:
                for chunk in iter_file(fh):
                    md5.update(chunk)
            parts.append(PartInfo(int(part.name[5:]), md5.hexdigest(), part.stat().st_size))
        return parts

    def complete_multipart(
        self, key: str, upload_id: str, parts: list[PartInfo], sha256: str | None = None
    ) -> ObjectInfo:
        """Mirrors S3's rules (ascending numbers, matching etags, 5 MiB minimum but
        for the last part) so that code that passes here also passes on S3."""
        directory = self._upload_dir(key, upload_id)
        meta = _read_upload(directory)
        stored = {part.number: part for part in self.list_parts(key, upload_id)}
        numbers = [part.number for part in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise StoreError("parts must be listed once each in ascending order")
        for index, part in enumerate(parts):
            found = stored.get(part.number)
            if found is None or found.etag != part.etag.strip('"'):
                raise StoreError(f"part {part.number} is missing or its etag differs")
            if index < len(parts) - 1 and found.size < MIN_PART_SIZE:
                raise StoreError(f"part {part.number} is smaller than 5 MiB")
        expected = sha256 or meta["metadata"].get(SHA256_METADATA_KEY)
        info = self._write_chunks(
            key,
            _concat(directory / _PART_NAME.format(n) for n in numbers),
            meta["content_type"],
            expected,
            etag_suffix=f"-{len(parts)}",
            part_etags=[stored[n].etag for n in numbers],
            record_computed=False,
        )
        shutil.rmtree(directory, ignore_errors=True)
        return info

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            directory = self._upload_dir(key, upload_id)
        except UploadNotFound:
            return
        shutil.rmtree(directory, ignore_errors=True)

    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartUpload]:
        validate_prefix(prefix)
        uploads: list[MultipartUpload] = []
        if not self._multipart.is_dir():
            return uploads
        for directory in self._multipart.iterdir():
            try:
                meta = _read_upload(directory)
            except FileNotFoundError:
                continue
            if meta["key"].startswith(prefix):
                initiated = datetime.fromisoformat(meta["initiated"])
                uploads.append(MultipartUpload(meta["key"], directory.name, initiated))
        return sorted(uploads, key=lambda upload: (upload.key, upload.initiated))

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        if not S_ISREG(stat.st_mode):
            return None
        size = stat.st_size
        meta: _ObjectMeta = {}
        with contextlib.suppress(FileNotFoundError):
            meta = cast(_ObjectMeta, _read_json(self._meta_path(key)))
        return ObjectInfo(
            key=key,
            size=size,
            sha256=meta.get("sha256"),
            content_type=meta.get("content_type"),
            etag=meta.get("etag"),
        )

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Opens the file before returning so a missing object fails at the call,
        while the caller can still answer 404 instead of a broken stream."""
        validate_range(start, end)
        try:
            fh = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        size = os.fstat(fh.fileno()).st_size
        if start >= size and not (start == 0 and end is None):
            fh.close()
            raise InvalidRange(f"{key}: start {start} is past size {size}")
        last = size - 1 if end is None else min(end, size - 1)
        fh.seek(start)
        return _closing_iter(fh, last - start + 1)

    def download_to(self, key: str, path: Path) -> None:
        write_chunks(self.open_range(key), path)

    def presigned_get_url(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str | None:
        """None: there is no second server to send a client to, so the API streams
        the object itself with HTTP Range support."""
        return None

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._meta_path(key)):
            path.unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        for dirpath, dirnames, filenames in os.walk(self.root):
            if Path(dirpath) == self.root:
                dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(self.root)
            for name in sorted(filenames):
                key = (rel_dir / name).as_posix()
                if key.startswith(prefix):
                    yield key

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        validate_prefix(prefix)
        yield from self._walk_sorted(self.root, "", prefix)

    def _walk_sorted(self, directory: Path, base: str, prefix: str) -> Iterator[ListedObject]:
        """Depth first, each directory sorted as if its name ended in ``/``: that is
        exactly the byte order of the full keys, as S3 lists them."""
        entries: list[tuple[str, os.DirEntry[str]]] = []
        with os.scandir(directory) as it:
            for entry in it:
                if not base and entry.name.startswith("."):
                    continue  # .tmp, .meta, .multipart: bookkeeping, not objects
                is_dir = entry.is_dir(follow_symlinks=False)
                entries.append((entry.name + ("/" if is_dir else ""), entry))
        for name, entry in sorted(entries, key=lambda e: e[0].encode()):
            key = base + name
            if name.endswith("/"):
                if key.startswith(prefix) or prefix.startswith(key):
                    yield from self._walk_sorted(Path(entry.path), key, prefix)
            elif key.startswith(prefix) and entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
                yield ListedObject(key, stat.st_size, modified)

    def _write_new(
        self, key: str, src: BinaryIO, content_type: str, sha256: str | None
    ) -> ObjectInfo:
        return self._write_chunks(key, iter_file(src), content_type, sha256)

    def _write_chunks(
        self,
        key: str,
        chunks: Iterator[bytes],
        content_type: str,
        sha256: str | None,
        *,
        etag_suffix: str = "",
        part_etags: list[str] | None = None,
        record_computed: bool = True,
    ) -> ObjectInfo:
        """Claims the key with a hard link, which fails if the name exists, so two
        writers racing for one key cannot both believe they won.

        A given ``sha256`` is always verified. A multipart object records only a
        given one (``record_computed=False``), because S3 cannot do better and
        callers must not come to rely on a digest that production lacks.
        """
        final = self._path(key)
        if final.exists():
            raise ObjectExists(key)
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        with self._temp_file() as (tmp_path, out):
            for chunk in chunks:
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
                out.write(chunk)
            _sync(out)
            digest = sha.hexdigest()
            if sha256 is not None and sha256.lower() != digest:
                raise StoreError(f"{key}: sha256 mismatch, data was corrupted on the way")
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp_path, final)
            except FileExistsError as exc:
                raise ObjectExists(key) from exc
            _fsync_dir(final.parent)
        etag = md5.hexdigest()
        if part_etags is not None:
            joined = b"".join(bytes.fromhex(tag) for tag in part_etags)
            etag = hashlib.md5(joined, usedforsecurity=False).hexdigest() + etag_suffix
        recorded = digest if record_computed or sha256 is not None else None
        meta: _ObjectMeta = {"content_type": content_type, "etag": etag}
        if recorded is not None:
            meta["sha256"] = recorded
        meta_path = self._meta_path(key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(meta_path, meta, self._tmp)
        return ObjectInfo(key, size, recorded, content_type, etag)

    def _temp_file(self) -> _TempFile:
        self._tmp.mkdir(parents=True, exist_ok=True)
        return _TempFile(self._tmp)

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"object key {key!r} points outside the store")
        return path

    def _meta_path(self, key: str) -> Path:
        self._path(key)
        return self._meta / f"{key}.json"

    def _upload_dir(self, key: str, upload_id: str) -> Path:
        validate_key(key)
        if not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise UploadNotFound(upload_id)
        directory = self._multipart / upload_id
        try:
            meta = _read_upload(directory)
        except FileNotFoundError as exc:
            raise UploadNotFound(upload_id) from exc
        if meta["key"] != key:
            raise UploadNotFound(upload_id)
        return directory


class _TempFile:
    """A temp file that is removed on exit whether or not it was linked into place."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory)
        self.path = Path(name)
        self.fh = os.fdopen(fd, "wb")

    def __enter__(self) -> tuple[Path, BinaryIO]:
        return self.path, self.fh

    def __exit__(self, *exc_info: object) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)


def _closing_iter(fh: BinaryIO, remaining: int) -> Iterator[bytes]:
    with fh:
        yield from iter_file(fh, remaining)


def _concat(paths: Iterator[Path]) -> Iterator[bytes]:
    for path in paths:
        with path.open("rb") as fh:
            yield from iter_file(fh)


def _sync(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_json(path: Path) -> Mapping[str, object]:
    with path.open("rb") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise StoreError(f"{path} is not a JSON object")
    return cast(Mapping[str, object], data)


def _read_upload(directory: Path) -> _UploadMeta:
    return cast(_UploadMeta, _read_json(directory / "upload.json"))


def _write_json_atomic(path: Path, data: Mapping[str, object], tmp_dir: Path) -> None:
    with _TempFile(tmp_dir) as (tmp_path, out):
        out.write(json.dumps(data, sort_keys=True).encode())
        _sync(out)
        os.replace(tmp_path, path)
