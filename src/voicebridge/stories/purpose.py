"""Chapters arrive as recordings through the shared upload path (purpose ``story_chapter``).

The upload creates a processing chapter; the chapter becomes playable only when
its asset is ready (design invariant 1). A guardian may give ``release_at_local``
(the school's clock, no offset): the chapter then reaches the child at that time.

Bulk import has no tus client, so
``ingest_file`` is its service-level entry into the same path: it puts the
original in the store under a server-made key, transcodes synchronously (the
import needs the result to report unusable files) and fills the asset exactly
as the ``audio.process`` job does, then calls the same hooks.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.audio.transcode import transcode
from voicebridge.config import AudioSettings
from voicebridge.errors import Conflict, InvalidInput, NotFound
from voicebridge.notifications import events as notify
from voicebridge.storage.base import ObjectStore, new_key
from voicebridge.stories import service
from voicebridge.stories.models import Chapter, ChapterState, Story
from voicebridge.uploads.purposes import register_purpose

NAME = "story_chapter"


MAX_CHAPTER = 9999


def _parse(metadata: dict[str, str]) -> tuple[uuid.UUID, str, int | None]:
    raw_number = (metadata.get("chapter_number") or "").strip()
    try:
        story_id = uuid.UUID(metadata["story_id"])
    except (KeyError, ValueError) as exc:
        raise InvalidInput("story_id (and an integer chapter_number) are required") from exc
    # Checked as text first: int() of a 30-digit number fits Python but not the database.
    if raw_number and not re.fullmatch(r"[0-9]{1,4}", raw_number):
        raise InvalidInput(f"chapter_number is a whole number from 1 to {MAX_CHAPTER}")
    number = int(raw_number) if raw_number else None
    title = (metadata.get("chapter_title") or "").strip()[:200]
    if number is not None and number < 1:
        raise InvalidInput("chapter_number starts at 1")
    return story_id, title, number


class StoryChapterPurpose:
    name = NAME

    def authorize(self, session: Session, user: User, metadata: dict[str, str]) -> None:
        story_id, _, number = _parse(metadata)
        story = session.get(Story, story_id)
        if (
            story is None
            or story.narrator_id != user.id
            or not service.narrator_may_keep(session, story)
        ):
            raise NotFound("No such story")
        if number is not None and _chapter(session, story_id, number) is not None:
            raise Conflict(f"Chapter {number} already exists")
        # Checked before any byte arrives: a bad release time is refused at creation.
        service.parse_release(session, story, metadata.get("release_at_local"))

    def on_created(
        self, session: Session, user: User, asset: AudioAsset, metadata: dict[str, str]
    ) -> None:
        self.authorize(session, user, metadata)
        story_id, title, number = _parse(metadata)
        if number is None:
            top = session.exec(
                select(func.max(Chapter.number)).where(Chapter.story_id == story_id)
            ).one()
            number = (top or 0) + 1
        story = session.get(Story, story_id)
        assert story is not None
        session.add(
            Chapter(
                story_id=story_id,
                number=number,
                title=title or f"Chapter {number}",
                asset_id=asset.id,
                release_at=service.parse_release(session, story, metadata.get("release_at_local")),
            )
        )
        service.mark_changed(session, story)
        session.add(story)
        session.flush()

    def on_ready(self, session: Session, asset: AudioAsset) -> None:
        chapter = _by_asset(session, asset.id)
        if chapter is not None and chapter.state is not ChapterState.ready:
            chapter.state = ChapterState.ready
            session.add(chapter)
            story = session.get(Story, chapter.story_id)
            if story is not None:
                # New audio on a public story is heard by a moderator before any child.
                service.mark_changed(session, story)
                session.add(story)
                notify.chapter_ready(session, chapter, story)
            session.flush()

    def on_failed(self, session: Session, asset: AudioAsset) -> None:
        chapter = _by_asset(session, asset.id)
        if chapter is not None:
            chapter.state = ChapterState.failed
            session.add(chapter)
            session.flush()


def _chapter(session: Session, story_id: uuid.UUID, number: int) -> Chapter | None:
    stmt = select(Chapter).where(Chapter.story_id == story_id, Chapter.number == number)
    return session.exec(stmt).first()


def _by_asset(session: Session, asset_id: uuid.UUID) -> Chapter | None:
    return session.exec(select(Chapter).where(Chapter.asset_id == asset_id)).first()


PURPOSE = register_purpose(StoryChapterPurpose())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 16):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    session: Session,
    store: ObjectStore,
    audio: AudioSettings,
    owner: User,
    path: Path,
    metadata: dict[str, str],
) -> Chapter:
    """Raises ``InvalidAudio`` (and writes nothing to the database) for an unusable file."""
    PURPOSE.authorize(session, owner, metadata)
    with tempfile.TemporaryDirectory(prefix="vb-import-") as tmp:
        playable = Path(tmp) / "playable.opus"
        result = transcode(
            path,
            playable,
            bitrate=audio.bitrate,
            peaks=audio.peaks,
            target_lufs=audio.target_lufs,
        )
        original = store.put_file(
            new_key("originals", "bin"), path, "application/octet-stream", sha256_file(path)
        )
        stored = store.put_file(new_key("playable", "opus"), playable, "audio/ogg", result.sha256)
    asset = AudioAsset(
        owner_id=owner.id,
        purpose=NAME,
        state=AssetState.processing,
        original_key=original.key,
        original_size=original.size,
        original_sha256=original.sha256,
        original_content_type="application/octet-stream",
    )
    session.add(asset)
    session.flush()
    PURPOSE.on_created(session, owner, asset, metadata)
    asset.state, asset.ready_at = AssetState.ready, clock.now()
    asset.playable_key, asset.playable_size = stored.key, result.size_bytes
    asset.playable_sha256, asset.duration_ms = result.sha256, result.duration_ms
    asset.peaks, asset.loudness_lufs = result.peaks, result.loudness_lufs
    session.add(asset)
    session.flush()
    PURPOSE.on_ready(session, asset)
    chapter = _by_asset(session, asset.id)
    assert chapter is not None
    return chapter
