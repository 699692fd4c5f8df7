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
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from voicebridge import clock, metrics
from voicebridge.audio.errors import InvalidAudio
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.audio.transcode import transcode
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


@job_handler(service.PROCESS_JOB)
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
        original_sha = _sha256(src)
        started = time.perf_counter()
        try:
            result = transcode(
                src,
                dst,
                bitrate=ctx.settings.audio.bitrate,
                peaks=ctx.settings.audio.peaks,
                target_lufs=ctx.settings.audio.target_lufs,
                max_duration_s=ctx.settings.uploads.max_duration_seconds,
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
    or job that has not committed yet. Lists the audio prefixes in full, which
    is fine at this scale; a bucket lifecycle rule is the alternative at scale.
    """
    store: ObjectStore = ctx.store
    cutoff = clock.now() - ORPHAN_AGE
    with Session(ctx.engine) as session:
        known_uploads = set(session.exec(select(Upload.multipart_id)).all())
        upload_keys = set(session.exec(select(Upload.object_key)).all())
    for mp in store.list_multipart_uploads(service.ORIGINAL_PREFIX + "/"):
        if mp.upload_id not in known_uploads and mp.initiated < cutoff:
            log.info("aborting orphan multipart upload", extra={"key": mp.key})
            store.abort_multipart(mp.key, mp.upload_id)
    for prefix in (service.ORIGINAL_PREFIX, service.PLAYABLE_PREFIX):
        for key in list(store.list_keys(prefix + "/")):
            made = service.key_time(key)
            if made is None or made >= cutoff or key in upload_keys:
                continue
            with Session(ctx.engine) as session:
                used = session.exec(
                    select(AudioAsset.id).where(
                        (col(AudioAsset.playable_key) == key)
                        | (col(AudioAsset.original_key) == key)
                    )
                ).first()
            if used is None:
                log.info("deleting orphan object", extra={"key": key})
                store.delete(key)
    _sweep_spool(ctx)


def _sweep_spool(ctx: JobContext) -> None:
    directory = spool.spool_dir(ctx.settings)
    with Session(ctx.engine) as session:
        live = {u.hex for u in session.exec(select(Upload.id)).all()}
    horizon = (clock.now() - ORPHAN_AGE).timestamp()
    for path in directory.iterdir():
        if path.name.split(".")[0] not in live and path.stat().st_mtime < horizon:
            path.unlink(missing_ok=True)


@job_handler("audio.verify_playable", every=timedelta(hours=6))
def verify_playable(ctx: JobContext, payload: dict[str, object]) -> None:
    """A ready asset whose object is missing or wrong becomes a dead letter of its own.

    We chose a dead-letter job per asset over a new alert table: operators
    already watch ``GET /admin/jobs/dead``, each entry names the asset, and
    retrying it re-checks once the object is restored.
    """
    store: ObjectStore = ctx.store
    with Session(ctx.engine) as session:
        ready = session.exec(
            select(AudioAsset.id, AudioAsset.playable_key, AudioAsset.playable_size).where(
                AudioAsset.state == AssetState.ready
            )
        ).all()
    for asset_id, key, size in ready:
        info = store.head(key) if key else None
        if info is not None and info.size == size:
            continue
        log.error("playable object missing or wrong", extra={"asset": str(asset_id), "key": key})
        with Session(ctx.engine) as session:
            jobs.enqueue(
                session,
                MISSING_JOB,
                {"asset_id": str(asset_id)},
                dedupe_key=f"{MISSING_JOB}:{asset_id}",
                max_attempts=1,
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
