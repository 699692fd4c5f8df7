"""The rules of an upload: who may start one, what counts as received, when it is done.

Functions take a session and flush; the caller owns the transaction. Object
store calls are synchronous (callers in async code run these in a threadpool).
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from voicebridge import clock, processes
from voicebridge.accounts.models import User
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.auth import throttle
from voicebridge.config import Settings
from voicebridge.errors import Conflict, Gone, InvalidInput, NotFound, PayloadTooLarge
from voicebridge.inputs import check_text
from voicebridge.jobs import service as jobs
from voicebridge.storage.base import ObjectInfo, ObjectStore, PartInfo, StoreError
from voicebridge.uploads import spool
from voicebridge.uploads.models import Upload
from voicebridge.uploads.purposes import PURPOSES, UploadPurpose

PROCESS_JOB = "audio.process"
ORIGINAL_PREFIX = "original"
PLAYABLE_PREFIX = "audio"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class OffsetMismatch(Conflict):
    slug = "upload-offset-mismatch"
    title = "Upload-Offset does not match the bytes received"


class ChecksumMismatch(InvalidInput):
    status = 460
    slug = "checksum-mismatch"
    title = "checksum mismatch"


def new_key(prefix: str, ext: str) -> str:
    """A server-made key whose path records when it was made, to the second, so the
    orphan sweep can tell a fresh object (its row not yet committed) from a lost one."""
    now = clock.now()
    return f"{prefix}/{now:%Y/%m/%d/%H%M%S}-{uuid.uuid4().hex}.{ext}"


def key_time(key: str) -> datetime | None:
    parts = key.split("/")
    try:
        stamp = "".join(parts[1:4]) + parts[4][:6]
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return None


def decode_metadata(header: str | None) -> dict[str, str]:
    """tus ``Upload-Metadata``: comma-separated ``key base64value`` pairs.

    Keys are ASCII tokens and values base64 of UTF-8 text; anything else (a
    raw Chinese value, a NUL, a repeated key) is the client's mistake: 422.
    """
    result: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not _METADATA_KEY.fullmatch(key):
            raise InvalidInput(
                "Upload-Metadata keys are ASCII words (letters, digits, _ - .)",
                field="Upload-Metadata",
            )
        if key in result:
            raise InvalidInput(f"Upload-Metadata names {key!r} twice", field="Upload-Metadata")
        try:
            decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode()
            result[key] = check_text(decoded, f"Upload-Metadata {key}")
        except (ValueError, UnicodeError) as exc:  # binascii.Error is a ValueError
            raise InvalidInput(
                f"Upload-Metadata value for {key!r} must be base64 of UTF-8 text without NUL",
                field="Upload-Metadata",
            ) from exc
    return result


def purpose_for(name: str | None) -> UploadPurpose:
    purpose = PURPOSES.get(name or "")
    if purpose is None:
        raise InvalidInput(f"Unknown upload purpose {name!r}", field="purpose")
    return purpose


UPLOADS_SCOPE = "uploads-user"


def start_asset(
    session: Session,
    user: User,
    metadata: dict[str, str],
    content_type: str,
    daily_limit: int | None = None,
) -> tuple[AudioAsset, UploadPurpose]:
    """Asks the purpose first, so a refused upload leaves no asset behind; counts the
    upload against the account's daily limit (shared by every API process)."""
    purpose = purpose_for(metadata.get("purpose"))
    purpose.authorize(session, user, metadata)
    if daily_limit is not None:
        throttle.hit(
            session, UPLOADS_SCOPE, str(user.id), daily_limit, timedelta(days=1), "Uploads"
        )
    asset = AudioAsset(
        owner_id=user.id, purpose=purpose.name, original_content_type=content_type[:100]
    )
    session.add(asset)
    session.flush()
    purpose.on_created(session, user, asset, metadata)
    session.flush()
    return asset, purpose


def create(
    session: Session,
    store: ObjectStore,
    settings: Settings,
    user: User,
    length: int,
    metadata: dict[str, str],
) -> Upload:
    if length < 1:
        raise InvalidInput("Upload-Length must be at least 1", field="Upload-Length")
    if length > settings.uploads.max_bytes:
        raise PayloadTooLarge(f"Uploads are limited to {settings.uploads.max_bytes} bytes")
    content_type = metadata.get("filetype") or DEFAULT_CONTENT_TYPE
    asset, _ = start_asset(
        session, user, metadata, content_type, settings.limits.uploads_per_user_day
    )
    key = new_key(ORIGINAL_PREFIX, "bin")
    # A crash between this call and the commit leaves a multipart upload no row
    # knows; storage.sweep_orphans aborts it.
    multipart_id = store.create_multipart(key, DEFAULT_CONTENT_TYPE)
    upload = Upload(
        owner_id=user.id,
        asset_id=asset.id,
        purpose=asset.purpose,
        meta=metadata,
        length=length,
        object_key=key,
        multipart_id=multipart_id,
        expires_at=clock.now() + timedelta(hours=settings.uploads.expire_hours),
    )
    session.add(upload)
    session.flush()
    return upload


def get_own(session: Session, upload_id: uuid.UUID, user_id: uuid.UUID) -> Upload:
    """Someone else's upload does not exist, as far as the caller can tell."""
    upload = session.get(Upload, upload_id)
    if upload is None or upload.owner_id != user_id:
        raise NotFound("No such upload")
    return upload


def ensure_open(upload: Upload) -> None:
    if upload.completed_at is None and upload.expires_at <= clock.now():
        raise Gone("The upload expired; start a new one")


def reconcile(
    session: Session, upload: Upload, path: Path, pending: list[tuple[int, Path]]
) -> None:
    """Makes the recorded parts and offset equal to what is really kept after any crash.

    The upload's bytes, in order, are its parts by number: each either recorded
    as sent or still a part file on local disk (cut from the spool, maybe sent,
    never recorded), then the spool. Parts go out several at a time and finish
    in any order, so a crash can leave recorded part 4 beside unsent part 3.
    A part file whose number is recorded is stale. Bytes are kept only up to
    the first part number that is neither recorded nor on disk (the spool was
    lost, or is on another machine); recorded parts past that gap are dropped
    from the row (their numbers are sent again, replacing them). Bytes beyond
    the offset were written but never counted (killed before the offset
    update): cut them. Fewer bytes than the offset: lower it; the client resends.
    """
    if upload.completed_at is not None:
        return
    recorded = {int(p["number"]): p for p in upload.parts}
    files: dict[int, Path] = {}
    for number, part_path in pending:
        if number in recorded:
            spool.remove(part_path)
        else:
            files[number] = part_path
    kept: list[dict[str, Any]] = []
    have = 0
    number = 1
    while number in recorded or number in files:
        if number in recorded:
            kept.append(recorded[number])
            have += int(recorded[number]["size"])
        else:
            room = max(0, upload.offset - have)
            size = min(spool.size(files[number]), room)
            if size == 0:
                break
            spool.truncate(files[number], size)
            have += size
            del files[number]
        number += 1
    gap = number <= max([*recorded, *files], default=0)
    for part_path in files.values():
        spool.remove(part_path)
    if gap:
        # The spool follows the last part; after a gap its bytes belong nowhere.
        spool.truncate(path, 0)
    else:
        spool_bytes = spool.size(path)
        if have + spool_bytes > upload.offset:
            spool.truncate(path, max(0, upload.offset - have))
        have += min(spool_bytes, max(0, upload.offset - have))
    if len(kept) != len(upload.parts):
        upload.parts = kept
        session.add(upload)
    if have < upload.offset:
        upload.offset = have
        session.add(upload)
    session.flush()


class UploadBusy(Conflict):
    slug = "upload-busy"
    title = "Another request is writing to this upload"


def claim_writer(
    session: Session, upload_id: uuid.UUID, user_id: uuid.UUID, writer: str, hold: timedelta
) -> None:
    """Makes ``writer`` the only request writing this upload, in any API process.

    A conditional update, so of two PATCHes racing in two processes exactly one
    wins and the other is answered 409. The claim lapses after ``hold`` unless
    renewed; a claim whose process is gone (an API killed mid-PATCH and
    restarted on this host) is taken over at once, so the phone's resume is not
    refused until the hold runs out.
    """
    now = clock.now()
    result = session.exec(
        update(Upload)
        .where(
            col(Upload.id) == upload_id,
            col(Upload.owner_id) == user_id,
            or_(
                col(Upload.writer).is_(None),
                col(Upload.writer) == writer,
                col(Upload.writer_until) < now,
            ),
        )
        .values(writer=writer, writer_until=now + hold)
    )
    if result.rowcount == 1:
        return
    held = get_own(session, upload_id, user_id).writer  # someone else's or no upload: 404
    if held is not None and writer_gone(held):
        # The held writer in the condition: of two retries racing, one takes it.
        result = session.exec(
            update(Upload)
            .where(col(Upload.id) == upload_id, col(Upload.writer) == held)
            .values(writer=writer, writer_until=now + hold)
        )
        if result.rowcount == 1:
            return
    raise UploadBusy("Another request is writing to this upload")


def writer_gone(writer: str) -> bool:
    """Whether the process of a writer (``host:pid:start:n``, ``ingest._writer_id``) died.

    A writer named some other way (by an older release) is left to its hold.
    """
    parts = writer.rsplit(":", 3)
    return len(parts) == 4 and processes.gone(":".join(parts[:3]))


def release_writer(session: Session, upload_id: uuid.UUID, writer: str) -> None:
    session.exec(
        update(Upload)
        .where(col(Upload.id) == upload_id, col(Upload.writer) == writer)
        .values(writer=None, writer_until=None)
    )


def is_being_written(session: Session, upload_id: uuid.UUID) -> bool:
    upload = session.get(Upload, upload_id)
    return (
        upload is not None
        and upload.writer is not None
        and upload.writer_until is not None
        and upload.writer_until > clock.now()
        and not writer_gone(upload.writer)
    )


def advance(session: Session, upload: Upload, expected: int, new_offset: int) -> None:
    """Counts fsync'd spool bytes; compare-and-set so two racing PATCHes cannot both count."""
    result = session.exec(
        update(Upload)
        .where(col(Upload.id) == upload.id, col(Upload.offset) == expected)
        .values(offset=new_offset)
    )
    if result.rowcount != 1:
        raise OffsetMismatch("Another request changed this upload meanwhile")
    upload.offset = new_offset


def record_part(session: Session, upload: Upload, part: PartInfo) -> None:
    """The spool became part ``part.number``; the offset does not move."""
    parts = [p for p in upload.parts if p["number"] != part.number]
    parts.append({"number": part.number, "etag": part.etag, "size": part.size})
    upload.parts = sorted(parts, key=lambda p: int(p["number"]))
    session.add(upload)
    session.flush()


def next_part_number(upload: Upload, also: Iterable[int] = ()) -> int:
    """After every recorded part and every part number ``also`` taken (parts in flight)."""
    return max([int(p["number"]) for p in upload.parts] + list(also), default=0) + 1


def finish(
    session: Session, store: ObjectStore, upload: Upload, sha256: str | None = None
) -> AudioAsset:
    """All bytes are parts: assemble the original and queue the transcode, together.

    ``sha256`` is the recording's digest when it was hashed as it arrived (the
    transcode job hashes it otherwise). Safe to call again after a crash between
    the store's completion and the commit: an object already at the key with the
    right size is the finished one.
    """
    info: ObjectInfo | None = store.head(upload.object_key)
    if info is None or info.size != upload.length:
        parts = [PartInfo(int(p["number"]), str(p["etag"]), int(p["size"])) for p in upload.parts]
        info = store.complete_multipart(upload.object_key, upload.multipart_id, parts)
    if info.size != upload.length:
        raise StoreError(f"assembled {info.size} bytes, expected {upload.length}")
    asset = session.get(AudioAsset, upload.asset_id)
    if asset is None:
        raise NotFound("The upload's recording is gone")
    if sha256 is not None:
        asset.original_sha256 = sha256
    mark_processing(session, asset, upload.object_key, info.size)
    upload.completed_at = clock.now()
    session.add(upload)
    session.flush()
    return asset


def mark_processing(session: Session, asset: AudioAsset, key: str, size: int) -> None:
    asset.original_key = key
    asset.original_size = size
    asset.state = AssetState.processing
    session.add(asset)
    session.flush()
    jobs.enqueue(
        session, PROCESS_JOB, {"asset_id": str(asset.id)}, dedupe_key=f"{PROCESS_JOB}:{asset.id}"
    )


def fail_asset(session: Session, asset: AudioAsset, slug: str, detail: str) -> None:
    if asset.state in (AssetState.ready, AssetState.failed):
        return
    asset.state = AssetState.failed
    asset.failure_type = slug[:60]
    asset.failure_detail = detail[:500]
    session.add(asset)
    session.flush()
    purpose = PURPOSES.get(asset.purpose)
    if purpose is not None:
        purpose.on_failed(session, asset)
        session.flush()


def may_complete(session: Session, upload: Upload) -> bool:
    """Whether the uploader may still post what they started (a link revoked, a child
    who left, staff who moved on: no). Asked again when the last byte arrives."""
    user = session.get(User, upload.owner_id)
    asset = session.get(AudioAsset, upload.asset_id)
    if user is None or not user.is_active or asset is None:
        return False
    purpose = PURPOSES.get(asset.purpose)
    check = getattr(purpose, "may_complete", None)
    return True if check is None else bool(check(session, user, asset))


def discard(
    session: Session,
    store: ObjectStore,
    settings: Settings,
    upload: Upload,
    slug: str = "upload-cancelled",
    detail: str = "The upload was cancelled or expired",
) -> None:
    """Termination, expiry, or a poster who lost the right: the parts are deleted and
    nothing of the upload remains but a failed asset."""
    if upload.completed_at is None:
        store.abort_multipart(upload.object_key, upload.multipart_id)
        spool.remove(spool.spool_file(settings, upload.id))
        for _, part_path in spool.pending_parts(settings, upload.id):
            spool.remove(part_path)
        asset = session.get(AudioAsset, upload.asset_id)
        if asset is not None:
            fail_asset(session, asset, slug, detail)
    session.delete(upload)
    session.flush()


def expired(session: Session, limit: int = 200) -> list[Upload]:
    return list(
        session.exec(
            select(Upload)
            .where(col(Upload.completed_at).is_(None), col(Upload.expires_at) <= clock.now())
            .limit(limit)
        ).all()
    )
