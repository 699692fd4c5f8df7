"""Deleting a person's data for good: objects first, then the rows that named them.

Every function here works in bounded batches and commits per batch, so a crash
loses at most one batch of progress and a rerun finishes the job:

1. the rows are hidden (``deleted_at``) and committed, so nobody is offered a
   recording that is about to disappear;
2. the objects are deleted (a second delete of a missing key is a no-op);
3. the rows are deleted and committed.

A crash between 2 and 3 leaves hidden rows whose objects are gone; the next
run deletes them. A crash before 2 leaves hidden rows with their objects; the
next run deletes both.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.audio.models import AudioAsset
from voicebridge.help.models import HelpMessage, HelpRequest
from voicebridge.messages.models import Message, Thread
from voicebridge.storage.base import StoreError
from voicebridge.stories.models import Chapter, ChapterProgress, Story
from voicebridge.uploads.models import Upload

log = logging.getLogger(__name__)


class Tally(Counter[str]):
    """What a run deleted, by kind: messages, objects, progress, help_cases, threads..."""

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.items()) if v}


def _delete_asset_objects(
    session: Session, store: Any, asset_ids: Sequence[uuid.UUID], tally: Tally
) -> None:
    """Deletes the assets' objects and any unfinished multipart uploads; rows stay."""
    if not asset_ids:
        return
    assets = session.exec(select(AudioAsset).where(col(AudioAsset.id).in_(asset_ids))).all()
    uploads = session.exec(select(Upload).where(col(Upload.asset_id).in_(asset_ids))).all()
    for asset in assets:
        for key in (asset.playable_key, asset.original_key):
            if key:
                store.delete(key)
                tally["objects"] += 1
    for upload in uploads:
        if upload.completed_at is None and upload.multipart_id:
            with contextlib.suppress(StoreError):
                store.abort_multipart(upload.object_key, upload.multipart_id)


def _delete_asset_rows(session: Session, asset_ids: Sequence[uuid.UUID]) -> None:
    if asset_ids:
        session.exec(delete(Upload).where(col(Upload.asset_id).in_(asset_ids)))
        session.exec(delete(AudioAsset).where(col(AudioAsset.id).in_(asset_ids)))


def purge_messages(engine: Engine, store: Any, message_ids: Sequence[uuid.UUID]) -> Tally:
    """One batch of messages: hide, delete their objects, delete the rows (listens cascade)."""
    tally = Tally()
    if not message_ids:
        return tally
    with Session(engine) as session:
        session.exec(
            update(Message)
            .where(col(Message.id).in_(message_ids), col(Message.deleted_at).is_(None))
            .values(deleted_at=clock.now())
        )
        session.commit()
        asset_ids = list(
            session.exec(select(Message.asset_id).where(col(Message.id).in_(message_ids))).all()
        )
        _delete_asset_objects(session, store, asset_ids, tally)
        session.exec(delete(Message).where(col(Message.id).in_(message_ids)))
        _delete_asset_rows(session, asset_ids)
        session.commit()
    tally["messages"] += len(message_ids)
    return tally


def purge_threads(engine: Engine, store: Any, thread_ids: Sequence[uuid.UUID], batch: int) -> Tally:
    """Every message of the threads, batch by batch, then the threads themselves."""
    tally = Tally()
    for thread_id in thread_ids:
        while True:
            with Session(engine) as session:
                ids = list(
                    session.exec(
                        select(Message.id).where(Message.thread_id == thread_id).limit(batch)
                    ).all()
                )
            tally.update(purge_messages(engine, store, ids))
            if len(ids) < batch:
                break
        with Session(engine) as session:
            session.exec(delete(Thread).where(col(Thread.id) == thread_id))
            session.commit()
        tally["threads"] += 1
    return tally


def purge_help_cases(engine: Engine, store: Any, request_ids: Sequence[uuid.UUID]) -> Tally:
    """Closed help cases: the recordings of the request and its case messages, then the
    rows (offers, case messages, escalations, alerts, access log and referrals cascade)."""
    tally = Tally()
    if not request_ids:
        return tally
    with Session(engine) as session:
        asset_ids = [
            a
            for a in session.exec(
                select(HelpRequest.audio_asset_id).where(col(HelpRequest.id).in_(request_ids))
            ).all()
            if a is not None
        ]
        asset_ids += [
            a
            for a in session.exec(
                select(HelpMessage.audio_asset_id).where(
                    col(HelpMessage.request_id).in_(request_ids)
                )
            ).all()
            if a is not None
        ]
        _delete_asset_objects(session, store, asset_ids, tally)
        session.exec(delete(HelpRequest).where(col(HelpRequest.id).in_(request_ids)))
        _delete_asset_rows(session, asset_ids)
        session.commit()
    tally["help_cases"] += len(request_ids)
    return tally


def purge_stories(engine: Engine, store: Any, story_ids: Sequence[uuid.UUID]) -> Tally:
    """A narrator's stories (an erased guardian's bedtime stories): chapters' audio, then rows."""
    tally = Tally()
    if not story_ids:
        return tally
    with Session(engine) as session:
        asset_ids = list(
            session.exec(select(Chapter.asset_id).where(col(Chapter.story_id).in_(story_ids))).all()
        )
        _delete_asset_objects(session, store, asset_ids, tally)
        session.exec(delete(Story).where(col(Story.id).in_(story_ids)))
        _delete_asset_rows(session, asset_ids)
        session.commit()
    tally["stories"] += len(story_ids)
    return tally


def purge_progress(session: Session, child_id: uuid.UUID) -> int:
    result = session.exec(delete(ChapterProgress).where(col(ChapterProgress.child_id) == child_id))
    return int(result.rowcount or 0)
