"""Moving a request body into the store: spool, fsync, count, flush parts, finish.

A PATCH can stream for many minutes, so it cannot be one database transaction:
each step (count fsync'd bytes, record a part, finish) commits on its own via a
unit of work, and a crash between steps is repaired by ``service.reconcile``.
Memory stays bounded by one write batch whatever the recording's length.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from voicebridge.accounts.models import User
from voicebridge.config import Settings
from voicebridge.errors import Conflict, DomainError, InvalidInput, NotFound, PayloadTooLarge
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads import service, spool
from voicebridge.uploads.models import Upload

UnitOfWork = Callable[[], AbstractContextManager[Session]]

BATCH_BYTES = 1024 * 1024
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}

_busy: set[uuid.UUID] = set()


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
            return cls(name, base64.b64decode(value.strip(), validate=True))
        except binascii.Error as exc:
            raise InvalidInput("Upload-Checksum value is not base64") from exc


@dataclass
class Ingest:
    uow: UnitOfWork
    store: ObjectStore
    settings: Settings

    def create(self, user_id: uuid.UUID, length: int, metadata: dict[str, str]) -> Upload:
        with self.uow() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user")
            return service.create(session, self.store, self.settings, user, length, metadata)

    def load(self, upload_id: uuid.UUID, user_id: uuid.UUID) -> Upload:
        """The upload as really stored, finishing one whose last step a crash interrupted."""
        with self.uow() as session:
            upload = service.get_own(session, upload_id, user_id)
            service.ensure_open(upload)
            service.reconcile(session, upload, spool.spool_file(self.settings, upload.id))
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
        if upload_id in _busy:
            raise Conflict("Another request is writing to this upload")
        _busy.add(upload_id)
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
            _busy.discard(upload_id)

    async def _stream(
        self, body: AsyncIterator[bytes], upload: Upload, checksum: Checksum | None
    ) -> None:
        path = spool.spool_file(self.settings, upload.id)
        start = upload.offset
        hasher = CHECKSUMS[checksum.algorithm]() if checksum else None
        pending = bytearray()
        received = 0
        try:
            async for chunk in body:
                received += len(chunk)
                if start + received > upload.length:
                    raise PayloadTooLarge("The body goes past Upload-Length")
                if hasher is not None:
                    hasher.update(chunk)
                pending += chunk
                if len(pending) >= BATCH_BYTES:
                    await self._write(upload, path, bytes(pending), count=hasher is None)
                    pending.clear()
        except ClientDisconnect:
            if hasher is not None:
                # A partial chunk cannot be checked against its checksum: drop it.
                await run_in_threadpool(self._rewind, upload, path, start)
                return
        if pending:
            await self._write(upload, path, bytes(pending), count=hasher is None)
        if checksum is not None and hasher is not None:
            if hasher.digest() != checksum.digest:
                await run_in_threadpool(self._rewind, upload, path, start)
                raise service.ChecksumMismatch("The chunk's checksum does not match its bytes")
            await run_in_threadpool(self._count, upload, start + received)
            if spool.size(path) >= self.settings.uploads.part_bytes:
                await run_in_threadpool(self._flush_part, upload, path)

    async def _write(self, upload: Upload, path: Path, data: bytes, *, count: bool) -> None:
        tail_at = spool.size(path) if not count else upload.offset - upload.parts_bytes
        await run_in_threadpool(spool.append, path, data, tail_at)
        if count:
            await run_in_threadpool(self._count, upload, upload.offset + len(data))
            if spool.size(path) >= self.settings.uploads.part_bytes:
                await run_in_threadpool(self._flush_part, upload, path)

    def _count(self, upload: Upload, new_offset: int) -> None:
        with self.uow() as session:
            service.advance(session, upload, upload.offset, new_offset)

    def _rewind(self, upload: Upload, path: Path, offset: int) -> None:
        spool.truncate(path, offset - upload.parts_bytes)

    def _flush_part(self, upload: Upload, path: Path) -> None:
        """The spool becomes the next part; only then is it emptied."""
        size = upload.offset - upload.parts_bytes
        if size <= 0:
            return
        spool.truncate(path, size)
        part = self.store.upload_part(
            upload.object_key, upload.multipart_id, service.next_part_number(upload), path, size
        )
        with self.uow() as session:
            fresh = session.get(Upload, upload.id)
            if fresh is None or fresh.offset != upload.offset:
                raise Conflict("Another request changed this upload meanwhile")
            service.record_part(session, fresh, part)
            upload.parts = list(fresh.parts)
        spool.truncate(path, 0)

    def _flush_and_finish(self, upload: Upload) -> None:
        path = spool.spool_file(self.settings, upload.id)
        self._flush_part(upload, path)
        with self.uow() as session:
            fresh = session.get(Upload, upload.id)
            if fresh is None:
                raise NotFound("No such upload")
            if fresh.completed_at is None:
                service.finish(session, self.store, fresh)
            upload.completed_at = fresh.completed_at
        spool.remove(path)


async def wait_idle(upload_id: uuid.UUID) -> None:
    """Lets a DELETE wait briefly for a PATCH of the same upload to stop."""
    for _ in range(50):
        if upload_id not in _busy:
            return
        await asyncio.sleep(0.1)
    raise Conflict("The upload is being written")


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
                asset, _ = service.start_asset(session, user, metadata, content_type)
                asset.original_sha256 = sha.hexdigest()
                service.mark_processing(session, asset, key, size)
                return asset.id

        return await run_in_threadpool(_record), size
    finally:
        path.unlink(missing_ok=True)
