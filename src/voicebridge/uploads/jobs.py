"""Turning an upload into a playable recording, and keeping the store tidy.

``audio.process`` writes the playable object and verifies it BEFORE the asset
says ready (design invariant 1). A crash between the two leaves an object no
row points at; ``storage.sweep_orphans`` removes it an hour later.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from voicebridge import clock, metrics
from voicebridge.audio.errors import InvalidAudio
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.audio.pool import shared_pool
from voicebridge.jobs import service as jobs
from voicebridge.jobs.registry import JobContext, PermanentJobError, job_handler
from voicebridge.live import events as live
from voicebridge.storage.base import ObjectStore, iter_file
from voicebridge.transcripts import service as transcripts
from voicebridge.uploads import service, spool
from voicebridge.uploads.models import Upload
from voicebridge.uploads.purposes import PURPOSES

log = logging.getLogger(__name__)

ORPHAN_AGE = timedelta(hours=1)
MISSING_JOB = "audio.playable_missing"
VERIFY_JOB = "audio.verify_playable"
# Rows per query, and keys per listing page checked in one query, in maintenance jobs.
MAINTENANCE_BATCH = 500
# 20 x 500 HEADs a run, a few seconds on a store on the same network.
VERIFY_BATCHES_PER_RUN = 20
OPUS_TYPE = "audio/ogg"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter_file(fh):
            digest.update(chunk)
    return digest.hexdigest()


def _load(ctx: JobContext, asset_id: uuid.UUID) -> AudioAsset | None:
    with Session(ctx.engine, expire_on_commit=False) as session:
        return session.get(AudioAsset, asset_id)


@job_handler(service.PROCESS_JOB, parallel=True)
def process_audio(ctx: JobContext, payload: dict[str, object]) -> None:
    asset_id = uuid.UUID(str(payload["asset_id"]))
    asset = _load(ctx, asset_id)
    if asset is None:
        raise PermanentJobError(f"asset {asset_id} does not exist")
    if asset.state is not AssetState.processing or asset.original_key is None:
        return
    store: ObjectStore = ctx.store
    work = ctx.settings.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        src, dst = Path(tmp) / "original", Path(tmp) / "playable.opus"
        store.download_to(asset.original_key, src)
        # Hashed as it arrived (tus in one process, or a one-request clip): not again.
        original_sha = asset.original_sha256 or _sha256(src)
        started = time.perf_counter()
        try:
            # In a child process: a crash there is a TranscodeCrashed here, retried.
            result = (
                shared_pool(ctx.settings.jobs.transcode_slots)
                .run(
                    src,
                    dst,
                    bitrate=ctx.settings.audio.bitrate,
                    peaks=ctx.settings.audio.peaks,
                    target_lufs=ctx.settings.audio.target_lufs,
                    max_duration_s=ctx.settings.uploads.max_duration_seconds,
                )
                .result
            )
        except InvalidAudio as exc:
            _refuse(ctx, asset_id, exc)
            return
        metrics.record_transcode(result.duration_ms / 1000, time.perf_counter() - started)
        key = service.new_key(service.PLAYABLE_PREFIX, "opus")
        store.put_file(key, dst, OPUS_TYPE, result.sha256)
    info = store.head(key)
    if info is None or info.size != result.size_bytes or (info.sha256 not in (None, result.sha256)):
        store.delete(key)
        raise RuntimeError(f"stored playable {key} does not match what was written")
    with Session(ctx.engine) as session:
        stmt = select(AudioAsset).where(col(AudioAsset.id) == asset_id).with_for_update()
        current = session.exec(stmt).one()
        if current.state is not AssetState.processing:
            # Another run finished first; ours is surplus.
            session.rollback()
            store.delete(key)
            return
        current.original_sha256 = original_sha
        current.playable_key = key
        current.playable_size = result.size_bytes
        current.playable_sha256 = result.sha256
        current.duration_ms = result.duration_ms
        current.peaks = list(result.peaks)
        current.loudness_lufs = result.loudness_lufs
        current.state = AssetState.ready
        current.ready_at = clock.now()
        session.add(current)
        session.flush()
        purpose = PURPOSES.get(current.purpose)
        # A volunteer's voice reaches the child only once its transcript passed the
        # contact filter: then the transcript job, not on_ready, releases it.
        waits = transcripts.after_ready(session, ctx.settings, current)
        if purpose is not None and not waits:
            purpose.on_ready(session, current)
        live.upload_finished(session, current, ok=True)
        session.commit()


def _refuse(ctx: JobContext, asset_id: uuid.UUID, exc: InvalidAudio) -> None:
    """Bad audio is the uploader's problem, not an operator's: no retry, no dead letter."""
    with Session(ctx.engine) as session:
        asset = session.get(AudioAsset, asset_id)
        if asset is None:
            return
        key = asset.original_key
        service.fail_asset(session, asset, exc.slug, exc.detail)
        asset.original_key = None
        session.add(asset)
        live.upload_finished(session, asset, ok=False)
        session.commit()
    if key is not None:
        ctx.store.delete(key)


@job_handler("uploads.expire", every=timedelta(minutes=15))
def expire_uploads(ctx: JobContext, payload: dict[str, object]) -> None:
    with Session(ctx.engine) as session:
        for upload in service.expired(session):
            service.discard(session, ctx.store, ctx.settings, upload)
            session.commit()


@job_handler("storage.sweep_orphans", every=timedelta(hours=1))
def sweep_orphans(ctx: JobContext, payload: dict[str, object]) -> None:
    """Removes what a crash left in the store and no row knows about.

    Only things older than an hour: a younger object may belong to a request
    or job that has not committed yet. The listing is streamed and checked a
    page of keys per query, and only open uploads are loaded (finished ones
    are millions of rows whose keys the assets already hold); a bucket
    lifecycle rule is the alternative at national scale.
    """
    store: ObjectStore = ctx.store
    cutoff = clock.now() - ORPHAN_AGE
    with Session(ctx.engine) as session:
        open_uploads = session.exec(
            select(Upload.multipart_id, Upload.object_key).where(col(Upload.completed_at).is_(None))
        ).all()
    known_uploads = {multipart_id for multipart_id, _ in open_uploads}
    upload_keys = {key for _, key in open_uploads}
    for mp in store.list_multipart_uploads(service.ORIGINAL_PREFIX + "/"):
        if mp.upload_id not in known_uploads and mp.initiated < cutoff:
            log.info("aborting orphan multipart upload", extra={"key": mp.key})
            store.abort_multipart(mp.key, mp.upload_id)
    for prefix in (service.ORIGINAL_PREFIX, service.PLAYABLE_PREFIX):
        for keys in _pages(store.list_keys(prefix + "/"), MAINTENANCE_BATCH):
            old = [k for k in keys if k not in upload_keys and _older(k, cutoff)]
            if not old:
                continue
            for key in _unused(ctx, old):
                log.info("deleting orphan object", extra={"key": key})
                store.delete(key)
    _sweep_spool(ctx)


def _older(key: str, cutoff: datetime) -> bool:
    made = service.key_time(key)
    return made is not None and made < cutoff


def _pages(items: Iterable[str], size: int) -> Iterator[list[str]]:
    page: list[str] = []
    for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _unused(ctx: JobContext, keys: list[str]) -> list[str]:
    """The keys no asset holds, one query for the page."""
    with Session(ctx.engine) as session:
        playable = session.exec(
            select(AudioAsset.playable_key).where(col(AudioAsset.playable_key).in_(keys))
        ).all()
        original = session.exec(
            select(AudioAsset.original_key).where(col(AudioAsset.original_key).in_(keys))
        ).all()
    used = set(playable) | set(original)
    return [k for k in keys if k not in used]


def _sweep_spool(ctx: JobContext) -> None:
    directory = spool.spool_dir(ctx.settings)
    with Session(ctx.engine) as session:
        live = {
            u.hex
            for u in session.exec(select(Upload.id).where(col(Upload.completed_at).is_(None))).all()
        }
    horizon = (clock.now() - ORPHAN_AGE).timestamp()
    for path in directory.iterdir():
        if path.name.split(".")[0] not in live and path.stat().st_mtime < horizon:
            path.unlink(missing_ok=True)


@job_handler(VERIFY_JOB, every=timedelta(hours=6))
def verify_playable(ctx: JobContext, payload: dict[str, object]) -> None:
    """A ready asset whose object is missing or wrong becomes a dead letter of its own.

    We chose a dead-letter job per asset over a new alert table: operators
    already watch ``GET /admin/jobs/dead``, each entry names the asset, and
    retrying it re-checks once the object is restored.

    Bounded: a run checks at most ``MAINTENANCE_BATCH`` x ``VERIFY_BATCHES_PER_RUN``
    assets, a batch per short query in id order, and leaves the rest to a
    follow-up job that starts after the last id it checked (the cursor), so no
    run loads the table or outlives its lease.
    """
    store: ObjectStore = ctx.store
    after = uuid.UUID(str(payload["after"])) if payload.get("after") else None
    for _ in range(VERIFY_BATCHES_PER_RUN):
        with Session(ctx.engine) as session:
            stmt = select(AudioAsset.id, AudioAsset.playable_key, AudioAsset.playable_size).where(
                AudioAsset.state == AssetState.ready
            )
            if after is not None:
                stmt = stmt.where(col(AudioAsset.id) > after)
            batch = session.exec(stmt.order_by(col(AudioAsset.id)).limit(MAINTENANCE_BATCH)).all()
        for asset_id, key, size in batch:
            info = store.head(key) if key else None
            if info is not None and info.size == size:
                continue
            log.error(
                "playable object missing or wrong", extra={"asset": str(asset_id), "key": key}
            )
            with Session(ctx.engine) as session:
                jobs.enqueue(
                    session,
                    MISSING_JOB,
                    {"asset_id": str(asset_id)},
                    dedupe_key=f"{MISSING_JOB}:{asset_id}",
                    max_attempts=1,
                )
                session.commit()
        if len(batch) < MAINTENANCE_BATCH:
            return
        after = batch[-1][0]
    with Session(ctx.engine) as session:
        jobs.enqueue(
            session, VERIFY_JOB, {"after": str(after)}, dedupe_key=f"{VERIFY_JOB}:after:{after}"
        )
        session.commit()


@job_handler(MISSING_JOB)
def playable_missing(ctx: JobContext, payload: dict[str, object]) -> None:
    asset = _load(ctx, uuid.UUID(str(payload["asset_id"])))
    if asset is None or asset.state is not AssetState.ready or asset.playable_key is None:
        return
    info = ctx.store.head(asset.playable_key)
    if info is None or info.size != asset.playable_size:
        raise PermanentJobError(
            f"asset {asset.id}: playable object {asset.playable_key} is "
            f"{'missing' if info is None else f'{info.size} bytes, expected {asset.playable_size}'}"
        )
