"""Story boxes: moderator-curated collections given to schools or classes.

Every change to what a box holds bumps ``StoryBox.version`` and writes a
``StoryBoxChange`` row with the playable hashes it brought; offline bundles and
device sync read that log to send only what a school lacks.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.audio.listening import covered, merge_intervals
from voicebridge.audio.models import AudioAsset
from voicebridge.auth import policy
from voicebridge.errors import Conflict, InvalidInput, NotFound
from voicebridge.live import events as live
from voicebridge.schools.models import Child, SchoolClass
from voicebridge.stories import service
from voicebridge.stories.models import (
    BoxChangeAction,
    Chapter,
    ChapterProgress,
    Story,
    StoryBox,
    StoryBoxAssignment,
    StoryBoxChange,
    StoryBoxEntry,
    StoryStatus,
    Visibility,
)


def create_box(session: Session, moderator: User, title: str, description: str) -> StoryBox:
    box = StoryBox(title=title, description=description, created_by=moderator.id)
    session.add(box)
    session.flush()
    return box


def story_hashes(session: Session, story_id: uuid.UUID) -> list[str]:
    hashes = []
    for chapter in service.ready_chapters(session, story_id):
        asset = session.get(AudioAsset, chapter.asset_id)
        if asset is not None and asset.playable_sha256:
            hashes.append(asset.playable_sha256)
    return hashes


def _record(session: Session, box: StoryBox, story_id: uuid.UUID, action: BoxChangeAction) -> None:
    box.version += 1
    hashes = [] if action is BoxChangeAction.removed else story_hashes(session, story_id)
    session.add(box)
    session.add(
        StoryBoxChange(
            box_id=box.id, version=box.version, story_id=story_id, action=action, hashes=hashes
        )
    )
    session.flush()
    _tell_shelves(session, box.id)


def _tell_shelves(session: Session, box_id: uuid.UUID) -> None:
    """The children whose class or school has the box hear that its shelf changed."""
    assigned = select(StoryBoxAssignment.school_id, StoryBoxAssignment.class_id).where(
        StoryBoxAssignment.box_id == box_id
    )
    places = list(session.exec(assigned))
    if not places:
        return
    where = [
        col(Child.school_id) == school_id
        if class_id is None
        else and_(col(Child.school_id) == school_id, col(Child.class_id) == class_id)
        for school_id, class_id in places
    ]
    children = select(Child.id).where(col(Child.left_at).is_(None), or_(*where))
    live.storybox_changed(session, box_id, list(session.exec(children)))


def add_story(session: Session, box: StoryBox, story: Story) -> StoryBoxEntry:
    if story.visibility is not Visibility.public or story.status is not StoryStatus.published:
        raise Conflict("Only published public stories go into a box")
    if session.get(StoryBoxEntry, (box.id, story.id)) is not None:
        raise Conflict("The story is already in this box")
    count = session.exec(
        select(func.count()).select_from(StoryBoxEntry).where(StoryBoxEntry.box_id == box.id)
    ).one()
    entry = StoryBoxEntry(box_id=box.id, story_id=story.id, position=count)
    session.add(entry)
    session.flush()
    _record(session, box, story.id, BoxChangeAction.added)
    return entry


def remove_story(session: Session, box: StoryBox, story_id: uuid.UUID) -> None:
    entry = session.get(StoryBoxEntry, (box.id, story_id))
    if entry is None:
        raise NotFound("The story is not in this box")
    session.delete(entry)
    session.flush()
    _record(session, box, story_id, BoxChangeAction.removed)


def _holding(session: Session, story_id: uuid.UUID) -> list[StoryBox]:
    stmt = (
        select(StoryBox)
        .join(StoryBoxEntry, col(StoryBoxEntry.box_id) == col(StoryBox.id))
        .where(StoryBoxEntry.story_id == story_id)
    )
    return list(session.exec(stmt))


def story_republished(session: Session, story: Story) -> None:
    """A reviewed change to a story reaches every box that holds it as a new version."""
    for box in _holding(session, story.id):
        _record(session, box, story.id, BoxChangeAction.updated)


def story_withdrawn(session: Session, story: Story) -> None:
    """A published story went back to review: it leaves the shelves until approved again.

    The boxes keep their entry (and version); listeners stop seeing the story
    (``box_stories`` lists only published ones), so their tablets sync again.
    """
    for box in _holding(session, story.id):
        _tell_shelves(session, box.id)


def assign(
    session: Session, box: StoryBox, school_id: uuid.UUID, class_id: uuid.UUID | None
) -> StoryBoxAssignment:
    if class_id is not None:
        school_class = session.get(SchoolClass, class_id)
        if school_class is None or school_class.school_id != school_id:
            raise InvalidInput("That class is not in that school")
    existing = session.exec(
        select(StoryBoxAssignment).where(
            StoryBoxAssignment.box_id == box.id,
            StoryBoxAssignment.school_id == school_id,
            StoryBoxAssignment.class_id == class_id
            if class_id
            else col(StoryBoxAssignment.class_id).is_(None),
        )
    ).first()
    if existing is not None:
        return existing
    assignment = StoryBoxAssignment(box_id=box.id, school_id=school_id, class_id=class_id)
    session.add(assignment)
    session.flush()
    _tell_shelves(session, box.id)
    return assignment


def _assigned_to_child(child: Child) -> ColumnElement[bool]:
    return and_(
        col(StoryBoxAssignment.school_id) == child.school_id,
        or_(
            col(StoryBoxAssignment.class_id).is_(None),
            col(StoryBoxAssignment.class_id) == child.class_id,
        ),
    )


def boxes_for(session: Session, user: User) -> list[StoryBox]:
    """The boxes a caller may browse: a child's class or school, a school's staff, moderators."""
    stmt = select(StoryBox).order_by(col(StoryBox.created_at))
    if policy.is_moderator(user):
        return list(session.exec(stmt))
    if user.role is Role.child:
        child = session.get(Child, user.id)
        if child is None or child.left_at is not None:
            return []
        cond = _assigned_to_child(child)
    elif user.role is Role.staff:
        cond = col(StoryBoxAssignment.school_id).in_(policy.staff_school_ids(session, user))
    else:
        return []
    stmt = stmt.where(col(StoryBox.id).in_(select(StoryBoxAssignment.box_id).where(cond)))
    return list(session.exec(stmt))


def can_see_box(session: Session, user: User, box_id: uuid.UUID) -> bool:
    return any(box.id == box_id for box in boxes_for(session, user))


def can_download_box(session: Session, user: User, box_id: uuid.UUID) -> bool:
    return user.role is not Role.child and can_see_box(session, user, box_id)


def device_may_sync(session: Session, school_id: uuid.UUID, box_id: uuid.UUID) -> bool:
    stmt = select(StoryBoxAssignment.id).where(
        StoryBoxAssignment.box_id == box_id, StoryBoxAssignment.school_id == school_id
    )
    return session.exec(stmt).first() is not None


def box_stories(session: Session, box_id: uuid.UUID) -> list[Story]:
    """What listeners see: only stories still published (a story under re-review drops out)."""
    stmt = (
        select(Story)
        .join(StoryBoxEntry, col(StoryBoxEntry.story_id) == col(Story.id))
        .where(StoryBoxEntry.box_id == box_id, Story.status == StoryStatus.published)
        .order_by(col(StoryBoxEntry.position))
    )
    return list(session.exec(stmt))


def story_in_child_boxes(session: Session, child_id: uuid.UUID, story_id: uuid.UUID) -> bool:
    child = session.get(Child, child_id)
    if child is None or child.left_at is not None:
        return False
    stmt = (
        select(StoryBoxEntry.box_id)
        .join(StoryBoxAssignment, col(StoryBoxAssignment.box_id) == col(StoryBoxEntry.box_id))
        .where(StoryBoxEntry.story_id == story_id, _assigned_to_child(child))
    )
    return session.exec(stmt).first() is not None


END_SLACK_MS = 2000


def record_progress(
    session: Session,
    child_id: uuid.UUID,
    chapter: Chapter,
    position_ms: int,
    heard: list[tuple[int, int]],
) -> ChapterProgress:
    """Progress only grows: a replay from a second tablet never rewinds the furthest point."""
    asset = session.get(AudioAsset, chapter.asset_id)
    duration = asset.duration_ms if asset is not None and asset.duration_ms else 0
    # A browser's idea of where the audio ends can pass ours by a frame or two (Opus
    # pre-skip, the last page's granule): a report that far past the end means the end,
    # as messages' progress treats it. Further out is a wrong report.
    if position_ms < 0 or position_ms > duration + END_SLACK_MS:
        raise InvalidInput("position_ms is outside the chapter")
    for start, end in heard:
        if not 0 <= start <= end <= duration + END_SLACK_MS:
            raise InvalidInput("heard intervals must lie inside the chapter")
    position_ms = min(position_ms, duration)
    heard = [(min(start, duration), min(end, duration)) for start, end in heard]
    progress = session.get(ChapterProgress, (child_id, chapter.id))
    if progress is None:
        progress = ChapterProgress(
            child_id=child_id, chapter_id=chapter.id, story_id=chapter.story_id
        )
    progress.position_ms = max(progress.position_ms, position_ms)
    progress.heard = merge_intervals(progress.heard, ([s, e] for s, e in heard))
    heard_ms = covered(progress.heard)
    progress.finished = progress.finished or (duration > 0 and heard_ms >= 0.9 * duration)
    progress.updated_at = clock.now()
    session.add(progress)
    session.flush()
    return progress


def resume_point(
    session: Session, child_id: uuid.UUID, story_id: uuid.UUID
) -> ChapterProgress | None:
    """ "Continue where I stopped": the most recently played chapter of the story."""
    stmt = (
        select(ChapterProgress)
        .where(ChapterProgress.child_id == child_id, ChapterProgress.story_id == story_id)
        .order_by(col(ChapterProgress.updated_at).desc())
    )
    return session.exec(stmt).first()


def figures(session: Session, story_id: uuid.UUID) -> tuple[int, int]:
    """(listeners, finishers), counted only: a narrator never learns which children."""
    total = len(service.ready_chapters(session, story_id))
    listeners = session.exec(
        select(func.count(func.distinct(ChapterProgress.child_id))).where(
            ChapterProgress.story_id == story_id
        )
    ).one()
    finished_per_child = (
        select(ChapterProgress.child_id)
        .where(ChapterProgress.story_id == story_id, col(ChapterProgress.finished))
        .group_by(col(ChapterProgress.child_id))
        .having(func.count() >= max(total, 1))
        .subquery()
    )
    finishers = session.exec(select(func.count()).select_from(finished_per_child)).one()
    return int(listeners), int(finishers)
