"""Moving a request body into the store: spool, fsync, count, send parts, finish.

A PATCH can stream for many minutes, so it cannot be one database transaction:
each step (count fsync'd bytes, record a part, finish) commits on its own via a
unit of work, and a crash between steps is repaired by ``service.reconcile``.

Each byte is written to the spool once and read once, by the part upload that
sends it; its part's MD5 (the store checks it) and the recording's SHA-256 are
computed from the bytes in memory as they are spooled, never by reading a file
again. Up to ``uploads.parts_in_flight`` parts of an upload are on their way to
the store while the next ones arrive. Memory stays bounded by one write batch
per upload (parts stream from their files) whatever the recording's length.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from voicebridge import processes
from voicebridge.accounts.models import User
from voicebridge.config import Settings
from voicebridge.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from voicebridge.storage.base import ObjectStore, PartInfo
from voicebridge.uploads import service, spool
from voicebridge.uploads.models import Upload

UnitOfWork = Callable[[], AbstractContextManager[Session]]

# fsync and count every 4 MiB: per-upload memory stays at one batch.
BATCH_BYTES = 4 * 1024 * 1024
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}

# How long a request's claim on an upload holds without renewal; it renews
# with every counted batch and at least every WRITER_RENEW while it streams.
WRITER_HOLD = timedelta(seconds=60)
WRITER_RENEW = 20.0

# Part uploads run on their own threads, not the request threadpool (40 threads
# shared by every request), so sixteen uploads with four parts in flight each
# cannot starve the spool writes and database steps that keep the bytes coming.
_SENDERS: dict[int, ThreadPoolExecutor] = {}
_SENDERS_LOCK = threading.Lock()


def _senders(size: int) -> ThreadPoolExecutor:
    with _SENDERS_LOCK:
        if size not in _SENDERS:
            _SENDERS[size] = ThreadPoolExecutor(size, thread_name_prefix="part-sender")
        return _SENDERS[size]


class _RunningDigests:
    """The SHA-256 of each upload's counted bytes, carried from one PATCH to the next.

    hashlib cannot save a digest's state, so it lives in this process: a PATCH
    that continues an upload here (the usual case) goes on hashing where the
    last one stopped. One that lands in another process, or after a restart,
    finds nothing; the recording is then hashed once by its transcode job,
    which reads it anyway.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[uuid.UUID, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: uuid.UUID, offset: int) -> Any | None:
        with self._lock:
            held = self._items.pop(upload_id, None)
        if offset == 0:
            return hashlib.sha256()
        if held is None or held[0] != offset:
            return None
        return held[1]

    def keep(self, upload_id: uuid.UUID, offset: int, digest: Any) -> None:
        with self._lock:
            self._items[upload_id] = (offset, digest)
            self._items.move_to_end(upload_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, upload_id: uuid.UUID) -> None:
        with self._lock:
            self._items.pop(upload_id, None)


DIGESTS = _RunningDigests()


_requests = itertools.count(1)


def _writer_id() -> str:
    """``host:pid:start:n``: the process (so that a restarted API sees a killed
    one's claim as dead, ``service.claim_writer``) and the request within it."""
    return f"{processes.this_process()}:{next(_requests)}"


class UnsupportedChecksum(DomainError):
    slug = "checksum-algorithm-unsupported"
    title = "Unsupported checksum algorithm"


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str | None) -> Checksum | None:
        if not header:
            return None
        name, _, value = header.strip().partition(" ")
        if name not in CHECKSUMS:
            raise UnsupportedChecksum(f"Unsupported checksum algorithm {name!r}")
        try:
            return cls(name, base64.b64decode(value.strip().encode("ascii"), validate=True))
        except ValueError as exc:  # binascii.Error, or a non-ASCII value
            raise InvalidInput("Upload-Checksum value is not base64") from exc


@dataclass
class Ingest:
    uow: UnitOfWork
    store: ObjectStore
    settings: Settings
    # This request, as the one writer of an upload (``service.claim_writer``).
    writer: str = field(default_factory=_writer_id)
    _renewed: float = 0.0

    def create(
        self,
        user_id: uuid.UUID,
        length: int,
        metadata: dict[str, str],
        before_commit: Callable[[Session, Upload], None] | None = None,
    ) -> Upload:
        """``before_commit`` writes what must commit with the new upload (the
        idempotency record of a keyed creation)."""
        with self.uow() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user")
            upload = service.create(session, self.store, self.settings, user, length, metadata)
            if before_commit is not None:
                before_commit(session, upload)
            return upload

    def load(self, upload_id: uuid.UUID, user_id: uuid.UUID) -> Upload:
        """The upload as really stored, finishing one whose last step a crash interrupted.

        While another request writes it (a HEAD during a PATCH), its spool is that
        request's to repair: the recorded offset is reported as it stands.
        """
        with self.uow() as session:
            upload = service.get_own(session, upload_id, user_id)
            service.ensure_open(upload)
            if upload.writer not in (None, self.writer) and service.is_being_written(
                session, upload_id
            ):
                return upload
            service.reconcile(
                session,
                upload,
                spool.spool_file(self.settings, upload.id),
                spool.pending_parts(self.settings, upload.id),
            )
        if upload.completed_at is None:
            self._upload_pending(upload)
        if upload.completed_at is None and upload.offset == upload.length:
            self._flush_and_finish(upload)
        return upload

    def terminate(self, upload_id: uuid.UUID, user_id: uuid.UUID) -> None:
        with self.uow() as session:
            upload = service.get_own(session, upload_id, user_id)
            service.discard(session, self.store, self.settings, upload)
        DIGESTS.drop(upload_id)

    async def receive(
        self,
        body: AsyncIterator[bytes],
        upload_id: uuid.UUID,
        user_id: uuid.UUID,
        client_offset: int,
        checksum: Checksum | None,
    ) -> Upload:
        # Before anything reads or repairs the spool: a second writer, in this
        # process or another, must not touch it.
        await run_in_threadpool(self._claim, upload_id, user_id)
        try:
            upload = await run_in_threadpool(self.load, upload_id, user_id)
            if upload.completed_at is not None or client_offset != upload.offset:
                raise service.OffsetMismatch(
                    f"The upload is at byte {upload.offset}", offset=upload.offset
                )
            await self._stream(body, upload, checksum)
            if upload.offset == upload.length and upload.completed_at is None:
                await run_in_threadpool(self._flush_and_finish, upload)
            return upload
        finally:
            await run_in_threadpool(self._release, upload_id)

    def _claim(self, upload_id: uuid.UUID, user_id: uuid.UUID) -> None:
        with self.uow() as session:
            service.claim_writer(session, upload_id, user_id, self.writer, WRITER_HOLD)
        self._renewed = time.monotonic()

    def _release(self, upload_id: uuid.UUID) -> None:
        with self.uow() as session:
            service.release_writer(session, upload_id, self.writer)

    async def _keep_claim(self, upload: Upload) -> None:
        """A slow phone may take longer than the hold to send one batch."""
        if time.monotonic() - self._renewed > WRITER_RENEW:
            await run_in_threadpool(self._claim, upload.id, upload.owner_id)

    async def wait_idle(self, upload_id: uuid.UUID) -> None:
        """Lets a DELETE wait briefly for a PATCH of the same upload (any process) to stop."""
        for _ in range(50):
            if not await run_in_threadpool(self._busy, upload_id):
                return
            await asyncio.sleep(0.1)
        raise service.UploadBusy("The upload is being written")

    def _busy(self, upload_id: uuid.UUID) -> bool:
        with self.uow() as session:
            return service.is_being_written(session, upload_id)

    async def _stream(
        self, body: AsyncIterator[bytes], upload: Upload, checksum: Checksum | None
    ) -> None:
        tail = _Tail(self, upload, spool.spool_file(self.settings, upload.id))
        await run_in_threadpool(tail.begin)
        start = upload.offset
        hasher = CHECKSUMS[checksum.algorithm]() if checksum else None
        buffer = bytearray()
        received = 0
        try:
            try:
                async for chunk in body:
                    received += len(chunk)
                    if start + received > upload.length:
                        raise PayloadTooLarge("The body goes past Upload-Length")
                    if hasher is not None:
                        hasher.update(chunk)
                    buffer += chunk
                    if tail.writing is None:
                        await self._keep_claim(upload)  # else counting the batch renews it
                    # Batches of one size, however the server chunks the body, so
                    # parts are cut at batch boundaries and not one per huge chunk.
                    while len(buffer) >= BATCH_BYTES:
                        with memoryview(buffer) as view:
                            full = bytes(view[:BATCH_BYTES])
                        del buffer[:BATCH_BYTES]
                        await tail.submit(full, count=hasher is None)
            except ClientDisconnect:
                await tail.flush()
                if hasher is not None:
                    # A partial chunk cannot be checked against its checksum: drop it.
                    await run_in_threadpool(tail.rewind, start)
                    return
            await tail.flush()
            if buffer:
                await tail.write(buffer, count=hasher is None)
            if checksum is not None and hasher is not None:
                if hasher.digest() != checksum.digest:
                    await run_in_threadpool(tail.rewind, start)
                    raise service.ChecksumMismatch("The chunk's checksum does not match its bytes")
                await run_in_threadpool(tail.accept, start + received)
                await tail.maybe_cut()
            await tail.drain()
        finally:
            await tail.settle()
            if tail.sha is not None:
                DIGESTS.keep(upload.id, upload.offset, tail.sha)

    def _count(self, upload: Upload, new_offset: int) -> None:
        with self.uow() as session:
            service.claim_writer(session, upload.id, upload.owner_id, self.writer, WRITER_HOLD)
            service.advance(session, upload, upload.offset, new_offset)
        self._renewed = time.monotonic()

    def _record(self, upload: Upload, part: PartInfo) -> None:
        """Parts finish in any order; each is recorded as it finishes."""
        with self.uow() as session:
            fresh = session.get(Upload, upload.id)
            if fresh is None:
                raise NotFound("No such upload")
            if fresh.writer not in (None, self.writer) and service.is_being_written(
                session, upload.id
            ):
                raise Conflict("Another request changed this upload meanwhile")
            service.record_part(session, fresh, part)
            upload.parts = list(fresh.parts)

    def _upload_pending(self, upload: Upload) -> None:
        """Part files left by an interrupted request, or by a part the store refused,
        are sent before anything else. This repair path reads each file twice (its
        MD5 went with the request that cut it)."""
        for number, path in spool.pending_parts(self.settings, upload.id):
            size = spool.size(path)
            part = self.store.upload_part(
                upload.object_key, upload.multipart_id, number, path, size
            )
            self._record(upload, part)
            spool.remove(path)

    def _flush_and_finish(self, upload: Upload) -> None:
        self._upload_pending(upload)
        path = spool.spool_file(self.settings, upload.id)
        size = upload.offset - upload.parts_bytes
        if size > 0:
            spool.truncate(path, size)
            number = service.next_part_number(upload)
            part = self.store.upload_part(
                upload.object_key, upload.multipart_id, number, path, size
            )
            self._record(upload, part)
            spool.truncate(path, 0)
        digest = DIGESTS.take(upload.id, upload.offset)
        refused = False
        with self.uow() as session:
            fresh = session.get(Upload, upload.id)
            if fresh is None:
                raise NotFound("No such upload")
            if fresh.completed_at is None and not service.may_complete(session, fresh):
                service.discard(
                    session,
                    self.store,
                    self.settings,
                    fresh,
                    "not-allowed",
                    "The sender may no longer post to this conversation",
                )
                refused = True
            elif fresh.completed_at is None:
                service.finish(
                    session, self.store, fresh, digest.hexdigest() if digest is not None else None
                )
            upload.completed_at = fresh.completed_at
        spool.remove(path)
        if refused:
            raise Forbidden("You may no longer post here; the upload was discarded")


@dataclass
class _Part:
    number: int
    path: Path
    size: int
    task: asyncio.Future[PartInfo]


@dataclass
class _Tail:
    """What a request received beyond the recorded parts: part files on their way
    to the store (at most ``uploads.parts_in_flight``), then the spool. Sending
    parts overlaps with receiving the next ones; database work stays on the
    request's coroutine, one step at a time.

    ``md5`` hashes the spool's bytes as they are written (the next part's
    Content-MD5); ``sha`` the counted bytes of the whole recording. In checksum
    mode the bytes count only once the chunk's checksum matches, so what was
    hashed meanwhile is held apart (``mark``, ``tentative``) until then.
    """

    ingest: Ingest
    upload: Upload
    path: Path
    inflight: dict[int, _Part] = field(default_factory=dict)
    # Parts the store refused: their files stay for the next request to resend.
    failed: dict[int, _Part] = field(default_factory=dict)
    md5: Any | None = None
    md5_bytes: int = 0
    sha: Any | None = None
    mark: tuple[Any | None, int] | None = None
    tentative: Any | None = None
    # The batch being spooled and counted while the request reads the next one.
    writing: asyncio.Future[None] | None = None

    def begin(self) -> None:
        # A spool left by an earlier request was hashed by that request: its part's
        # MD5 is then read from the file when it is cut (``upload_part`` does).
        self.md5 = hashlib.md5(usedforsecurity=False) if spool.size(self.path) == 0 else None
        self.md5_bytes = 0
        self.sha = DIGESTS.take(self.upload.id, self.upload.offset)

    def held(self) -> int:
        return sum(p.size for p in (*self.inflight.values(), *self.failed.values()))

    def spool_at(self) -> int:
        return self.upload.offset - self.upload.parts_bytes - self.held()

    async def submit(self, data: bytes, *, count: bool) -> None:
        """Spools ``data`` while the caller reads on: one batch is written (fsync, count)
        while the next arrives, so the client is not held up by the disk or database.
        Memory: two batches. A batch waits for the one before, so order is kept."""
        await self.flush()
        self.writing = asyncio.ensure_future(self.write(data, count=count))

    async def flush(self) -> None:
        """The batch being written is on disk and counted; raises if it failed."""
        writing, self.writing = self.writing, None
        if writing is not None:
            await writing

    async def write(self, data: bytes | bytearray, *, count: bool) -> None:
        if count:
            await run_in_threadpool(self._spool_counted, data, self.spool_at())
            await self.maybe_cut()
        else:
            await run_in_threadpool(self._spool_uncounted, data)

    def _append(self, data: bytes | bytearray, at: int) -> None:
        spool.append(self.path, data, at)
        if self.md5 is not None and at == self.md5_bytes:
            self.md5.update(data)
            self.md5_bytes += len(data)
        else:
            self.md5 = None

    def _spool_counted(self, data: bytes | bytearray, at: int) -> None:
        self._append(data, at)
        self.ingest._count(self.upload, self.upload.offset + len(data))
        if self.sha is not None:
            self.sha.update(data)

    def _spool_uncounted(self, data: bytes | bytearray) -> None:
        if self.mark is None:
            self.mark = (self.md5.copy() if self.md5 is not None else None, self.md5_bytes)
            self.tentative = self.sha.copy() if self.sha is not None else None
        self._append(data, spool.size(self.path))
        if self.tentative is not None:
            self.tentative.update(data)

    def accept(self, new_offset: int) -> None:
        """The chunk's checksum matched: its bytes count."""
        self.ingest._count(self.upload, new_offset)
        if self.mark is not None:
            self.sha, self.mark, self.tentative = self.tentative, None, None

    def rewind(self, offset: int) -> None:
        spool.truncate(self.path, offset - self.upload.parts_bytes - self.held())
        if self.mark is not None:
            self.md5, self.md5_bytes = self.mark
        self.mark, self.tentative = None, None

    async def maybe_cut(self) -> None:
        """A full part (or the recording's last bytes) leaves the spool for the store."""
        await self.collect()
        size = self.spool_at()
        settings = self.ingest.settings.uploads
        last = self.upload.offset == self.upload.length
        if size <= 0 or (size < settings.part_bytes and not last):
            return
        while len(self.inflight) >= settings.parts_in_flight:
            tasks = [p.task for p in self.inflight.values()]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            await self.collect()
        number = service.next_part_number(self.upload, [*self.inflight, *self.failed])
        target = spool.pending_file(self.ingest.settings, self.upload.id, number)
        md5 = self.md5.hexdigest() if self.md5 is not None and self.md5_bytes == size else None
        await run_in_threadpool(spool.promote, self.path, target, size)
        self.md5, self.md5_bytes = hashlib.md5(usedforsecurity=False), 0
        store, up = self.ingest.store, self.upload
        task = asyncio.get_running_loop().run_in_executor(
            _senders(settings.part_senders),
            store.upload_part,
            up.object_key,
            up.multipart_id,
            number,
            target,
            size,
            md5,
        )
        self.inflight[number] = _Part(number, target, size, task)

    async def collect(self) -> None:
        """Records every part that has finished; raises the first that failed."""
        for number in sorted(self.inflight):
            part = self.inflight[number]
            if not part.task.done():
                continue
            del self.inflight[number]
            try:
                sent = part.task.result()
            except BaseException:
                self.failed[number] = part
                raise
            try:
                await run_in_threadpool(self.ingest._record, self.upload, sent)
            except BaseException:
                self.failed[number] = part
                raise
            await run_in_threadpool(spool.remove, part.path)

    async def drain(self) -> None:
        """Every part in flight finished and recorded, or the first failure raised."""
        if self.inflight:
            await asyncio.wait([p.task for p in self.inflight.values()])
        await self.collect()

    async def settle(self) -> None:
        """Parts in flight are recorded even when the request ends badly; a part that
        failed keeps its file, so the next request of the upload sends it again."""
        with contextlib.suppress(Exception):
            await self.flush()
        while self.inflight:
            await asyncio.wait([p.task for p in self.inflight.values()])
            with contextlib.suppress(Exception):
                await self.collect()


async def receive_whole(
    ingest: Ingest, body: AsyncIterator[bytes], user_id: uuid.UUID, metadata: dict[str, str]
) -> tuple[uuid.UUID, int]:
    """A short clip in one request: spooled to disk, stored, queued, one transaction.

    The purpose is asked before any byte is read, and again in the final
    transaction, so a refused clip is never stored and a stored one is never
    half-recorded. A crash after the object is written but before the commit
    leaves an unreferenced object that ``storage.sweep_orphans`` deletes.
    """
    limit = ingest.settings.uploads.single_request_max_bytes
    content_type = metadata.get("filetype") or service.DEFAULT_CONTENT_TYPE

    def _authorize() -> None:
        with ingest.uow() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user")
            service.purpose_for(metadata.get("purpose")).authorize(session, user, metadata)

    await run_in_threadpool(_authorize)
    path = spool.spool_dir(ingest.settings) / f"single-{uuid.uuid4().hex}.spool"
    try:
        sha = hashlib.sha256()
        size = 0
        with path.open("wb") as fh:
            async for chunk in body:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"Single-request uploads are limited to {limit} bytes")
                sha.update(chunk)
                await run_in_threadpool(fh.write, chunk)
        if size == 0:
            raise InvalidInput("The body is empty")
        key = service.new_key(service.ORIGINAL_PREFIX, "bin")
        await run_in_threadpool(
            ingest.store.put_file, key, path, service.DEFAULT_CONTENT_TYPE, sha.hexdigest()
        )

        def _record() -> uuid.UUID:
            with ingest.uow() as session:
                user = session.get(User, user_id)
                if user is None:
                    raise NotFound("No such user")
                asset, _ = service.start_asset(
                    session,
                    user,
                    metadata,
                    content_type,
                    ingest.settings.limits.uploads_per_user_day,
                )
                asset.original_sha256 = sha.hexdigest()
                service.mark_processing(session, asset, key, size)
                return asset.id

        return await run_in_threadpool(_record), size
    finally:
        path.unlink(missing_ok=True)
