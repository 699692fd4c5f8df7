"""Offline story bundles: a zip a school can carry on a USB stick, and device sync.

Layout: ``manifest.json`` (box, version, stories, chapters with duration, size
and SHA-256), ``manifest.sha256`` (so an edited manifest is caught too) and
``audio/<sha256>.opus``: a file is named by its content, so a recording in
several stories, boxes or versions is stored once. ``since`` keeps only what
changed after that box version, read from the box's change log.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from voicebridge.audio.models import AudioAsset
from voicebridge.errors import InvalidInput, NotFound
from voicebridge.storage.base import ObjectStore
from voicebridge.stories import boxes, service
from voicebridge.stories.models import BoxChangeAction, StoryBox, StoryBoxChange

FORMAT = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
CHUNK = 1 << 16


def _file_name(sha256: str) -> str:
    return f"audio/{sha256}.opus"


def build_manifest(session: Session, box: StoryBox, since: int = 0) -> dict[str, Any]:
    """The manifest of ``box`` at its current version, holding what changed after ``since``."""
    if since < 0 or since > box.version:
        raise InvalidInput(f"since must be between 0 and {box.version}")
    changes = list(
        session.exec(
            select(StoryBoxChange)
            .where(StoryBoxChange.box_id == box.id)
            .order_by(col(StoryBoxChange.version))
        )
    )
    current = boxes.box_stories(session, box.id)
    current_ids = {story.id for story in current}
    changed = {c.story_id for c in changes if c.version > since}
    known = {h for c in changes if c.version <= since for h in c.hashes}
    stories, files = [], {}
    for story in current:
        if since and story.id not in changed:
            continue
        chapters = []
        for chapter in service.ready_chapters(session, story.id):
            asset = session.get(AudioAsset, chapter.asset_id)
            assert asset is not None
            assert asset.playable_sha256
            assert asset.playable_key
            chapters.append(
                {
                    "id": str(chapter.id),
                    "number": chapter.number,
                    "title": chapter.title,
                    "duration_ms": asset.duration_ms,
                    "size": asset.playable_size,
                    "sha256": asset.playable_sha256,
                    "file": _file_name(asset.playable_sha256),
                }
            )
            if asset.playable_sha256 not in known:
                files[asset.playable_sha256] = {
                    "sha256": asset.playable_sha256,
                    "size": asset.playable_size,
                    "name": _file_name(asset.playable_sha256),
                }
        stories.append(
            {
                "id": str(story.id),
                "title": story.title,
                "description": story.description,
                "language": story.language,
                "age_min": story.age_min,
                "age_max": story.age_max,
                "tags": story.tags,
                "narrator": service.narrator_name(session, story),
                "series_id": str(story.series_id) if story.series_id else None,
                "series_position": story.series_position,
                "chapters": chapters,
            }
        )
    removed = sorted(
        str(c.story_id)
        for c in changes
        if c.version > since
        and c.action is BoxChangeAction.removed
        and c.story_id not in current_ids
    )
    return {
        "format": FORMAT,
        "box": {"id": str(box.id), "title": box.title, "description": box.description},
        "version": box.version,
        "since": since,
        "stories": stories,
        "removed_stories": sorted(set(removed)),
        "files": sorted(files.values(), key=lambda f: f["sha256"]),
    }


def playable_key(session: Session, box: StoryBox, sha256: str) -> tuple[str, int]:
    """The stored object behind a hash, only if a published story of this box holds it."""
    for story in boxes.box_stories(session, box.id):
        for chapter in service.ready_chapters(session, story.id):
            asset = session.get(AudioAsset, chapter.asset_id)
            if asset and asset.playable_sha256 == sha256 and asset.playable_key:
                return asset.playable_key, asset.playable_size or 0
    raise NotFound("No such file in this box")


def export_bundle(
    session: Session,
    store: ObjectStore,
    box: StoryBox,
    out: Path,
    since: int = 0,
    on_bytes: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Streams each recording from the store into the zip; memory stays at one chunk."""
    manifest = build_manifest(session, box, since)
    keys = {f["sha256"]: playable_key(session, box, f["sha256"])[0] for f in manifest["files"]}
    part = out.with_name(f".{out.name}.part")
    try:
        with zipfile.ZipFile(part, "w", allowZip64=True) as zf:
            for entry in manifest["files"]:
                # Opus does not compress further; storing keeps export and playback cheap.
                with zf.open(zipfile.ZipInfo(entry["name"]), "w", force_zip64=True) as dst:
                    for chunk in store.open_range(keys[entry["sha256"]]):
                        dst.write(chunk)
                        if on_bytes is not None:
                            on_bytes(len(chunk))
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            zf.writestr(MANIFEST, body, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(MANIFEST_SUM, hashlib.sha256(body).hexdigest() + "\n")
        part.replace(out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return manifest


def total_bytes(manifest: dict[str, Any]) -> int:
    return sum(int(f["size"] or 0) for f in manifest["files"])


def verify_bundle(path: Path) -> list[str]:
    """Every problem found; an empty list means the bundle is whole."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _verify(zf)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        return [f"not a readable bundle: {exc}"]


def _verify(zf: zipfile.ZipFile) -> list[str]:
    names = set(zf.namelist())
    if MANIFEST not in names or MANIFEST_SUM not in names:
        return ["manifest.json or manifest.sha256 is missing"]
    body = zf.read(MANIFEST)
    if hashlib.sha256(body).hexdigest() != zf.read(MANIFEST_SUM).decode().strip():
        return ["manifest.json does not match manifest.sha256"]
    manifest = json.loads(body)
    problems = []
    listed = {f["name"]: f for f in manifest.get("files", [])}
    for name, entry in listed.items():
        if name not in names:
            problems.append(f"{name}: missing")
            continue
        digest, size = hashlib.sha256(), 0
        with zf.open(name) as src:
            while block := src.read(CHUNK):
                digest.update(block)
                size += len(block)
        if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
            problems.append(f"{name}: content does not match the manifest")
    extra = {n for n in names if n.startswith("audio/")} - set(listed)
    problems.extend(f"{name}: not in the manifest" for name in sorted(extra))
    if manifest.get("since", 0) == 0:
        for story in manifest.get("stories", []):
            for chapter in story.get("chapters", []):
                if chapter["file"] not in listed:
                    problems.append(f"chapter {chapter['id']}: its file is not in the bundle")
    return problems


def box_or_404(session: Session, box_id: uuid.UUID) -> StoryBox:
    box = session.get(StoryBox, box_id)
    if box is None:
        raise NotFound("No such story box")
    return box
