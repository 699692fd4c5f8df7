"""Moving a request body into the store: spool, fsync, count, flush parts, finish.

A PATCH can stream for many minutes, so it cannot be one database transaction:
each step (count fsync'd bytes, record a part, finish) commits on its own via a
unit of work, and a crash between steps is repaired by ``service.reconcile``.
Memory stays bounded by one write batch whatever the recording's length.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

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
                spool.find_pending(self.settings, upload.id),
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
                    await self._keep_claim(upload)
                    if len(buffer) >= BATCH_BYTES:
                        full, buffer = buffer, bytearray()
                        await tail.write(full, count=hasher is None)
            except ClientDisconnect:
                if hasher is not None:
                    # A partial chunk cannot be checked against its checksum: drop it.
                    await run_in_threadpool(tail.rewind, start)
                    return
            if buffer:
                await tail.write(buffer, count=hasher is None)
            if checksum is not None and hasher is not None:
                if hasher.digest() != checksum.digest:
                    await run_in_threadpool(tail.rewind, start)
                    raise service.ChecksumMismatch("The chunk's checksum does not match its bytes")
                await run_in_threadpool(self._count, upload, start + received)
                await tail.maybe_cut()
        finally:
            await tail.settle()

    def _count(self, upload: Upload, new_offset: int) -> None:
        with self.uow() as session:
            service.claim_writer(session, upload.id, upload.owner_id, self.writer, WRITER_HOLD)
            service.advance(session, upload, upload.offset, new_offset)
        self._renewed = time.monotonic()

    def _record(self, upload: Upload, part: PartInfo) -> None:
        with self.uow() as session:
            fresh = session.get(Upload, upload.id)
            if fresh is None:
                raise NotFound("No such upload")
            if service.next_part_number(fresh) != part.number:
                raise Conflict("Another request changed this upload meanwhile")
            service.record_part(session, fresh, part)
            upload.parts = list(fresh.parts)

    def _upload_pending(self, upload: Upload) -> None:
        """A part file left by an interrupted request is sent before anything else."""
        found = spool.find_pending(self.settings, upload.id)
        if found is None:
            return
        number, path = found
        size = spool.size(path)
        part = self.store.upload_part(upload.object_key, upload.multipart_id, number, path, size)
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
                service.finish(session, self.store, fresh)
            upload.completed_at = fresh.completed_at
        spool.remove(path)
        if refused:
            raise Forbidden("You may no longer post here; the upload was discarded")


@dataclass
class _Tail:
    """What a request received beyond the recorded parts: at most one part file
    on its way to the store, then the spool. Sending a part overlaps with
    receiving the next one; database work stays on the request's coroutine."""

    ingest: Ingest
    upload: Upload
    path: Path
    pending: tuple[int, Path, int] | None = None
    task: asyncio.Future[PartInfo] | None = None

    def spool_at(self) -> int:
        pending = self.pending[2] if self.pending else 0
        return self.upload.offset - self.upload.parts_bytes - pending

    async def write(self, data: bytes | bytearray, *, count: bool) -> None:
        at = self.spool_at() if count else spool.size(self.path)
        await run_in_threadpool(spool.append, self.path, data, at)
        if count:
            await run_in_threadpool(self.ingest._count, self.upload, self.upload.offset + len(data))
            await self.maybe_cut()

    def rewind(self, offset: int) -> None:
        pending = self.pending[2] if self.pending else 0
        spool.truncate(self.path, offset - self.upload.parts_bytes - pending)

    async def maybe_cut(self) -> None:
        await self.collect(wait=False)
        if self.spool_at() < self.ingest.settings.uploads.part_bytes:
            return
        await self.collect(wait=True)
        size = self.spool_at()
        number = service.next_part_number(self.upload)
        target = spool.pending_file(self.ingest.settings, self.upload.id, number)
        await run_in_threadpool(spool.promote, self.path, target, size)
        self.pending = (number, target, size)
        store, up = self.ingest.store, self.upload
        self.task = asyncio.ensure_future(
            run_in_threadpool(
                store.upload_part, up.object_key, up.multipart_id, number, target, size
            )
        )

    async def collect(self, *, wait: bool) -> None:
        if self.task is None or self.pending is None:
            return
        if not wait and not self.task.done():
            return
        task, (_, path, _) = self.task, self.pending
        self.task = None
        part = await task
        await run_in_threadpool(self.ingest._record, self.upload, part)
        self.pending = None
        await run_in_threadpool(spool.remove, path)

    async def settle(self) -> None:
        """The part in flight is recorded even when the request ends badly."""
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.collect(wait=True)


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
