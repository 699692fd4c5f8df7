"""The transcription job: after the transcode, on the job table like every other job.

At most ``transcripts.slots`` transcriptions run at once on one machine (a lock
file per slot in the data directory): each holds the model and the decoded
audio in memory. A job that finds every slot taken comes back a few seconds
later without spending an attempt.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from voicebridge import clock, metrics
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.config import Settings
from voicebridge.jobs.registry import JobContext, PermanentJobError, Reschedule, job_handler
from voicebridge.transcripts import engine as asr
from voicebridge.transcripts import service
from voicebridge.transcripts.models import Subject, Transcript
from voicebridge.transcripts.text import to_simplified

log = logging.getLogger(__name__)

SLOT_RETRY = timedelta(seconds=3)


@contextmanager
def slot(settings: Settings) -> Iterator[bool]:
    """Yields True holding one of the machine's transcription slots, False when all are taken."""
    directory = settings.data_dir / "work" / "asr-slots"
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(max(1, settings.transcripts.slots)):
        fd = os.open(directory / f"{n}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    yield False


def _subject(ctx: JobContext, asset_id: uuid.UUID) -> tuple[AudioAsset, Subject, str] | None:
    with Session(ctx.engine, expire_on_commit=False) as session:
        asset = session.get(AudioAsset, asset_id)
        if asset is None or asset.state is not AssetState.ready or asset.playable_key is None:
            return None
        if session.exec(select(Transcript.id).where(Transcript.asset_id == asset_id)).first():
            return None  # a retried job whose first run committed
        # Asked again now: consent may have been withdrawn, the message deleted.
        subject = service.subject_of(session, asset)
        if subject is None:
            return None
        return asset, subject, service.prompt_context(session, asset, subject)


def _untranscribable(ctx: JobContext, asset_id: uuid.UUID) -> None:
    with Session(ctx.engine) as session:
        service.untranscribable(session, asset_id)
        session.commit()


@job_handler(service.TRANSCRIBE_JOB)
def transcribe(ctx: JobContext, payload: dict[str, object]) -> None:
    asset_id = uuid.UUID(str(payload["asset_id"]))
    found = _subject(ctx, asset_id)
    if found is None:
        return
    asset, subject, context = found
    settings: Settings = ctx.settings
    try:
        engine = asr.engine(settings)
    except RuntimeError as exc:
        log.warning("transcription unavailable", extra={"asset": str(asset_id)})
        _untranscribable(ctx, asset_id)
        raise PermanentJobError(str(exc)) from exc
    prompt = asr.initial_prompt(settings.transcripts, context)
    with slot(settings) as held:
        if not held:
            raise Reschedule(clock.now() + SLOT_RETRY)
        work = settings.data_dir / "work"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            path = Path(tmp) / "playable.opus"
            assert asset.playable_key is not None
            ctx.store.download_to(asset.playable_key, path)
            started = time.perf_counter()
            try:
                result = engine.transcribe(path, prompt=prompt)
            except Exception as exc:  # noqa: BLE001 - the engine's own failure: no retry helps
                log.exception("transcription failed", extra={"asset": str(asset_id)})
                _untranscribable(ctx, asset_id)
                raise PermanentJobError(f"transcription failed: {exc}") from exc
            spent = time.perf_counter() - started
    metrics.TRANSCRIPTION_SECONDS.labels(subject.value).observe(spent)
    segments = [
        {"start_ms": s.start_ms, "end_ms": s.end_ms, "text": to_simplified(s.text)}
        for s in result.segments
    ]
    with Session(ctx.engine) as session:
        if session.exec(select(Transcript.id).where(Transcript.asset_id == asset_id)).first():
            return
        current = session.get(AudioAsset, asset_id)
        if current is None or service.subject_of(session, current) is None:
            return  # deleted or consent withdrawn while we listened
        transcript = Transcript(
            asset_id=asset_id,
            subject=subject,
            text="".join(str(s["text"]) for s in segments),
            segments=segments,
            engine=result.engine,
            audio_seconds=round(result.audio_seconds, 3),
            processing_seconds=round(spent, 3),
        )
        session.add(transcript)
        session.flush()
        service.apply(session, settings, transcript)
        session.commit()
    log.info(
        "transcribed",
        extra={
            "asset": str(asset_id),
            "subject": subject.value,
            "audio_seconds": round(result.audio_seconds, 1),
            "seconds": round(spent, 2),
        },
    )
