"""HTTP for story boxes: curation, assignment, browsing, bundles and device sync."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from sqlmodel import Session
from starlette.background import BackgroundTask

from voicebridge.accounts.models import User
from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, NotFound
from voicebridge.schools.models import School
from voicebridge.storage.deps import StoreDep
from voicebridge.stories import boxes, bundles
from voicebridge.stories.deps import CuratedBox, DownloadableBox, SyncedBox, VisibleBox
from voicebridge.stories.models import Story, StoryBox
from voicebridge.stories.router import story_public
from voicebridge.stories.schemas import (
    AssignmentCreate,
    AssignmentPublic,
    BoxCreate,
    BoxPublic,
    BoxStoryAdd,
    BoxSummary,
    Manifest,
)

router = APIRouter(prefix="/storyboxes", tags=["story boxes"])
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _summary(box: StoryBox) -> BoxSummary:
    return BoxSummary(id=box.id, title=box.title, description=box.description, version=box.version)


def _box_public(session: Session, box: StoryBox, viewer: User) -> BoxPublic:
    stories = [story_public(session, s, viewer) for s in boxes.box_stories(session, box.id)]
    return BoxPublic(**_summary(box).model_dump(), stories=stories)


@router.post("", status_code=201)
def create_box(body: BoxCreate, principal: CurrentPrincipal, session: SessionDep) -> BoxSummary:
    if not policy.is_moderator(principal.user):
        raise Forbidden("Moderators curate story boxes")
    return _summary(boxes.create_box(session, principal.user, body.title, body.description))


@router.get("")
def list_boxes(principal: CurrentPrincipal, session: SessionDep) -> list[BoxSummary]:
    return [_summary(b) for b in boxes.boxes_for(session, principal.user)]


@router.get("/{box_id}")
def get_box(box: VisibleBox, principal: CurrentPrincipal, session: SessionDep) -> BoxPublic:
    return _box_public(session, box, principal.user)


@router.post("/{box_id}/stories", status_code=201)
def add_story(
    body: BoxStoryAdd, box: CuratedBox, principal: CurrentPrincipal, session: SessionDep
) -> BoxSummary:
    story = session.get(Story, body.story_id)
    if story is None:
        raise NotFound("No such story")
    boxes.add_story(session, box, story)
    return _summary(box)


@router.delete("/{box_id}/stories/{story_id}")
def remove_story(story_id: uuid.UUID, box: CuratedBox, session: SessionDep) -> BoxSummary:
    boxes.remove_story(session, box, story_id)
    return _summary(box)


@router.post("/{box_id}/assignments", status_code=201)
def assign_box(body: AssignmentCreate, box: CuratedBox, session: SessionDep) -> AssignmentPublic:
    if session.get(School, body.school_id) is None:
        raise NotFound("No such school")
    a = boxes.assign(session, box, body.school_id, body.class_id)
    return AssignmentPublic(id=a.id, box_id=a.box_id, school_id=a.school_id, class_id=a.class_id)


@router.get("/{box_id}/bundle", response_model=None)
def download_bundle(
    box: DownloadableBox,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    since: int = Query(default=0, ge=0),
) -> FileResponse:
    """Written to a temporary file first, then streamed: a 1 GB box never sits in memory."""
    spool = settings.data_dir / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="storybox-", suffix=".zip", dir=spool)
    os.close(fd)
    path = Path(name)
    try:
        bundles.export_bundle(session, store, box, path, since)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"storybox-{box.id}-v{box.version}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/{box_id}/sync/manifest")
def sync_manifest(
    box: SyncedBox, session: SessionDep, since: int = Query(default=0, ge=0)
) -> Manifest:
    return bundles.build_manifest(session, box, since)


@router.get("/{box_id}/sync/files/{sha256}", response_model=None)
def sync_file(
    sha256: str, box: SyncedBox, session: SessionDep, store: StoreDep, settings: SettingsDep
) -> Response:
    if not _SHA.fullmatch(sha256):
        raise NotFound("No such file in this box")
    key, size = bundles.playable_key(session, box, sha256)
    url = store.presigned_get_url(key, settings.storage.presign_seconds, content_type="audio/ogg")
    if url is not None:
        return RedirectResponse(url, status_code=307)
    return StreamingResponse(
        store.open_range(key), media_type="audio/ogg", headers={"Content-Length": str(size)}
    )
