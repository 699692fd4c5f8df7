"""Stories: narrators, private bedtime stories, public stories and their moderation.

Status only ever moves through the functions here: a client's request body has
no ``status`` field, so nobody can approve a story by sending one. Every edit of
a published public story sends it back to review, because a moderator approved
the story as it was, not as it became.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.audio.models import AudioAsset
from voicebridge.auth import policy
from voicebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from voicebridge.live import events as live
from voicebridge.privacy import audit
from voicebridge.schools.models import Child, School
from voicebridge.stories.models import (
    Chapter,
    ChapterState,
    NarratorProfile,
    Series,
    Story,
    StoryAudience,
    StoryStatus,
    Verification,
    Visibility,
)

EDITABLE_FIELDS = ("title", "description", "language", "age_min", "age_max", "tags")


def narrator_name(session: Session, story: Story) -> str:
    """The name a story shows: a public story its narrator's pen name (never the account's
    name); a school's own story the staff member's name, which the school knows anyway."""
    profile = session.get(NarratorProfile, story.narrator_id)
    if profile is not None:
        return profile.display_name
    if story.visibility is Visibility.public:
        return ""
    user = session.get(User, story.narrator_id)
    return user.display_name if user is not None else ""


def apply_as_narrator(session: Session, user: User, display_name: str, bio: str) -> NarratorProfile:
    if user.role is Role.child:
        raise Forbidden("Children do not narrate public stories")
    profile = session.get(NarratorProfile, user.id)
    if profile is None:
        profile = NarratorProfile(user_id=user.id, display_name=display_name, bio=bio)
    else:
        profile.display_name, profile.bio = display_name, bio
    session.add(profile)
    session.flush()
    return profile


def verify_narrator(
    session: Session, moderator: User, user_id: uuid.UUID, verified: bool
) -> NarratorProfile:
    profile = session.get(NarratorProfile, user_id)
    if profile is None:
        raise NotFound("No such narrator")
    profile.state = Verification.verified if verified else Verification.refused
    profile.verified_by, profile.verified_at = moderator.id, clock.now()
    session.add(profile)
    session.flush()
    audit.record(session, moderator, "approve" if verified else "reject", "narrator", user_id)
    return profile


def is_verified_narrator(session: Session, user: User) -> bool:
    profile = session.get(NarratorProfile, user.id)
    return profile is not None and profile.state is Verification.verified


def create_series(session: Session, owner: User, title: str) -> Series:
    series = Series(owner_id=owner.id, title=title)
    session.add(series)
    session.flush()
    return series


def to_utc(local: datetime, timezone: str) -> datetime:
    """A time the guardian picked on the school's clock ("tonight at 20:30")."""
    if local.tzinfo is not None:
        raise InvalidInput("Give available_from as local time without an offset")
    if not 2000 <= local.year <= 2100:
        raise InvalidInput("available_from is not a plausible date")
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def create_story(
    session: Session,
    user: User,
    *,
    visibility: Visibility,
    title: str,
    description: str = "",
    language: str = "zh",
    age_min: int = 3,
    age_max: int = 15,
    tags: Sequence[str] = (),
    child_ids: Sequence[uuid.UUID] = (),
    available_from_local: datetime | None = None,
    series_id: uuid.UUID | None = None,
    series_position: int | None = None,
) -> Story:
    if age_min > age_max:
        raise InvalidInput("age_min must not be above age_max")
    if series_id is not None:
        series = session.get(Series, series_id)
        if series is None or series.owner_id != user.id:
            raise NotFound("No such series")
    story = Story(
        narrator_id=user.id,
        visibility=visibility,
        title=title,
        description=description,
        language=language,
        age_min=age_min,
        age_max=age_max,
        tags=list(tags),
        series_id=series_id,
        series_position=series_position,
    )
    if visibility is Visibility.private:
        children = _own_children(session, user, child_ids)
        # A parent's story for their own child needs no review; it is theirs to tell.
        story.status, story.published_at = StoryStatus.published, clock.now()
        if available_from_local is not None:
            school = session.get(School, children[0].school_id)
            assert school is not None
            story.available_from = to_utc(available_from_local, school.timezone)
    else:
        if child_ids or available_from_local is not None:
            raise InvalidInput("Public stories have no audience or schedule")
        if not is_verified_narrator(session, user):
            raise Forbidden("Public stories need a narrator verified by a moderator")
    session.add(story)
    session.flush()
    for child in children if visibility is Visibility.private else []:
        session.add(StoryAudience(story_id=story.id, child_id=child.id))
    session.flush()
    return story


def _own_children(session: Session, user: User, child_ids: Sequence[uuid.UUID]) -> list[Child]:
    if user.role is not Role.guardian:
        raise Forbidden("Private stories are told by a guardian to their own children")
    if not child_ids:
        raise InvalidInput("Name the children this story is for")
    children = []
    for child_id in dict.fromkeys(child_ids):
        child = session.get(Child, child_id)
        if child is None or not policy.is_guardian_of(session, user, child_id):
            raise NotFound("No such child")
        children.append(child)
    return children


def audience(session: Session, story_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.exec(select(StoryAudience.child_id).where(StoryAudience.story_id == story_id))
    )


def update_story(session: Session, story: Story, changes: dict[str, object]) -> Story:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(story, name, value)
    if story.age_min > story.age_max:
        raise InvalidInput("age_min must not be above age_max")
    mark_changed(session, story)
    session.add(story)
    session.flush()
    return story


def mark_changed(session: Session, story: Story) -> None:
    """Any change to public content sends it back to review (and out of children's reach)."""
    from voicebridge.stories import boxes

    story.updated_at = clock.now()
    if story.visibility is Visibility.public and story.status in (
        StoryStatus.published,
        StoryStatus.approved,
        StoryStatus.rejected,
    ):
        was_out = story.status is StoryStatus.published
        story.status = StoryStatus.submitted
        story.rejection_reason = None
        if was_out:
            session.add(story)
            session.flush()
            boxes.story_withdrawn(session, story)


def submit(session: Session, story: Story) -> Story:
    if story.visibility is not Visibility.public:
        raise Conflict("Private stories are not reviewed")
    if story.status not in (StoryStatus.draft, StoryStatus.rejected):
        raise Conflict(f"A {story.status.value} story cannot be submitted")
    if not ready_chapters(session, story.id):
        raise Conflict("Record at least one chapter first")
    story.status, story.rejection_reason = StoryStatus.submitted, None
    session.add(story)
    session.flush()
    live.moderation_changed(session, story_id=story.id)
    return story


def review(
    session: Session, moderator: User, story: Story, approve: bool, reason: str | None
) -> Story:
    if story.status is not StoryStatus.submitted:
        raise Conflict("Only submitted stories are reviewed")
    if story.narrator_id == moderator.id:
        raise Forbidden("Nobody reviews their own story")
    if not approve and not (reason and reason.strip()):
        raise InvalidInput("Say why the story is rejected")
    if approve and any(c.state is ChapterState.processing for c in chapters(session, story.id)):
        # The moderator must hear every chapter that will be published.
        raise Conflict("A chapter is still being processed; review it once it is ready")
    story.status = StoryStatus.approved if approve else StoryStatus.rejected
    story.rejection_reason = None if approve else reason
    story.reviewed_by, story.reviewed_at = moderator.id, clock.now()
    session.add(story)
    session.flush()
    if approve and story.published_at is not None:
        # A change to a story its narrator had published: once heard and approved it
        # goes back onto the shelves that hold it (a first version waits for the
        # narrator to publish it).
        publish(session, story)
    live.story_reviewed(session, story)
    audit.record(session, moderator, "approve" if approve else "reject", "story", story.id)
    return story


def publish(session: Session, story: Story) -> Story:
    from voicebridge.stories import boxes

    if story.status is not StoryStatus.approved:
        raise Conflict("Only an approved story can be published")
    story.status, story.published_at = StoryStatus.published, clock.now()
    session.add(story)
    session.flush()
    boxes.story_republished(session, story)
    return story


def review_queue(session: Session, limit: int = 100) -> list[Story]:
    stmt = (
        select(Story)
        .where(Story.status == StoryStatus.submitted)
        .order_by(col(Story.updated_at))
        .limit(limit)
    )
    return list(session.exec(stmt))


def chapters(session: Session, story_id: uuid.UUID) -> list[Chapter]:
    stmt = select(Chapter).where(Chapter.story_id == story_id).order_by(col(Chapter.number))
    return list(session.exec(stmt))


def ready_chapters(session: Session, story_id: uuid.UUID) -> list[Chapter]:
    return [c for c in chapters(session, story_id) if c.state is ChapterState.ready]


def released(chapter: Chapter) -> bool:
    return chapter.release_at is None or chapter.release_at <= clock.now()


def released_chapters(session: Session, story_id: uuid.UUID) -> list[Chapter]:
    """What a child of the audience may hear now: ready, and its release time has come."""
    return [c for c in ready_chapters(session, story_id) if released(c)]


def story_timezone(session: Session, story: Story) -> str:
    """The clock a private story is scheduled on: its (first) child's school's."""
    for child_id in sorted(audience(session, story.id)):
        child = session.get(Child, child_id)
        school = session.get(School, child.school_id) if child is not None else None
        if school is not None:
            return school.timezone
    return "UTC"


def parse_release(session: Session, story: Story, raw: datetime | str | None) -> datetime | None:
    """A chapter's release time given on the school's clock, as UTC (None: when ready)."""
    if raw is None or raw == "":
        return None
    if story.visibility is not Visibility.private:
        raise InvalidInput("Public stories reach children through story boxes, not a schedule")
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise InvalidInput("release_at_local is a date and time like 2026-12-01T20:30") from exc
    return to_utc(raw, story_timezone(session, story))


def schedule_chapter(
    session: Session, story: Story, chapter: Chapter, release_at_local: datetime | None
) -> Chapter:
    from voicebridge.notifications import events as notify

    if story.visibility is not Visibility.private:
        raise Conflict("Public stories reach children through story boxes, not a schedule")
    chapter.release_at = parse_release(session, story, release_at_local)
    session.add(chapter)
    session.flush()
    notify.chapter_rescheduled(session, chapter, story)
    return chapter


def own_stories(session: Session, user: User) -> list[Story]:
    stmt = select(Story).where(Story.narrator_id == user.id).order_by(col(Story.created_at))
    return list(session.exec(stmt))


def child_private_stories(session: Session, child_id: uuid.UUID) -> list[Story]:
    stmt = (
        select(Story)
        .join(StoryAudience, col(StoryAudience.story_id) == col(Story.id))
        .where(StoryAudience.child_id == child_id)
        .order_by(col(Story.created_at))
    )
    return [s for s in session.exec(stmt) if child_may_hear(session, child_id, s)]


def child_may_hear(session: Session, child_id: uuid.UUID, story: Story) -> bool:
    """Published, not scheduled for later, with a playable chapter, and meant for them."""
    from voicebridge.stories import boxes

    if story.status is not StoryStatus.published:
        return False
    if story.visibility is Visibility.private:
        if story.available_from is not None and story.available_from > clock.now():
            return False
        if child_id not in audience(session, story.id):
            return False
        # A guardian whose link was revoked (or whose consent was withdrawn)
        # must not keep a voice channel to the child through earlier stories.
        if policy.active_link(session, story.narrator_id, child_id) is None:
            return False
        return bool(released_chapters(session, story.id))
    return boxes.story_in_child_boxes(session, child_id, story.id)


def narrator_may_keep(session: Session, story: Story) -> bool:
    """A private story stays its narrator's only while they are still a guardian of its audience."""
    if story.visibility is not Visibility.private:
        return True
    return any(
        policy.active_link(session, story.narrator_id, child_id) is not None
        for child_id in audience(session, story.id)
    )


def can_see_story(session: Session, user: User, story: Story) -> bool:
    if user.role is Role.child:
        return child_may_hear(session, user.id, story)
    if story.narrator_id == user.id:
        return narrator_may_keep(session, story)
    # Moderators review public stories; a family's private story is only the family's.
    return story.visibility is Visibility.public and policy.is_moderator(user)


def playable_asset(session: Session, chapter: Chapter) -> AudioAsset:
    asset = session.get(AudioAsset, chapter.asset_id)
    if asset is None or asset.playable_key is None:
        raise NotFound("No such chapter")
    return asset
