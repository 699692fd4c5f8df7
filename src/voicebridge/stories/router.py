"""HTTP for stories, chapters, narrator figures and moderation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from voicebridge.accounts.models import Role, User
from voicebridge.audio.listening import covered
from voicebridge.audio.models import AudioAsset
from voicebridge.audio.playback import audio_response
from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden
from voicebridge.schools.models import Child, School
from voicebridge.schools.schemas import ListeningWindow
from voicebridge.storage.deps import StoreDep
from voicebridge.stories import boxes, purpose, service  # noqa: F401  (registers the upload purpose)
from voicebridge.stories.deps import (
    OwnChapter,
    OwnStory,
    PlayableChapter,
    ReviewableStory,
    VisibleStory,
)
from voicebridge.stories.models import Chapter, ChapterProgress, Story
from voicebridge.stories.schemas import (
    ChapterListener,
    ChapterPublic,
    ChapterRelease,
    ChapterStatus,
    FiguresPublic,
    NarratorApply,
    NarratorPublic,
    NarratorVerify,
    ProgressPublic,
    ProgressUpdate,
    ReviewRequest,
    SeriesCreate,
    SeriesPublic,
    StoryChapters,
    StoryCreate,
    StoryPublic,
    StoryUpdate,
)

router = APIRouter(prefix="/stories", tags=["stories"])
moderation = APIRouter(prefix="/moderation", tags=["moderation"])


def story_public(session: Session, story: Story, viewer: User) -> StoryPublic:
    chapters = []
    shown = (
        service.released_chapters(session, story.id)
        if viewer.role is Role.child
        else service.ready_chapters(session, story.id)
    )
    for chapter in shown:
        asset = session.get(AudioAsset, chapter.asset_id)
        chapters.append(
            ChapterPublic(
                id=chapter.id,
                number=chapter.number,
                title=chapter.title,
                duration_ms=asset.duration_ms if asset else None,
                peaks=asset.peaks if asset else [],
            )
        )
    resume = None
    if viewer.role is Role.child:
        point = boxes.resume_point(session, viewer.id, story.id)
        if point is not None:
            resume = ProgressPublic(
                chapter_id=point.chapter_id, position_ms=point.position_ms, finished=point.finished
            )
    return StoryPublic(
        id=story.id,
        title=story.title,
        description=story.description,
        language=story.language,
        age_min=story.age_min,
        age_max=story.age_max,
        tags=story.tags,
        visibility=story.visibility,
        status=story.status,
        narrator=service.narrator_name(session, story),
        series_id=story.series_id,
        series_position=story.series_position,
        available_from=story.available_from,
        rejection_reason=story.rejection_reason,
        chapters=chapters,
        resume=resume,
        child_ids=service.audience(session, story.id) if viewer.id == story.narrator_id else [],
    )


def chapter_status(session: Session, story: Story, chapter: Chapter) -> ChapterStatus:
    """One chapter as its narrator sees it, with how far each of their children listened."""
    asset = session.get(AudioAsset, chapter.asset_id)
    listeners = []
    for child_id in sorted(service.audience(session, story.id)):
        child = session.get(Child, child_id)
        # A child the narrator is no longer linked to is nobody's business of theirs.
        if child is None or policy.active_link(session, story.narrator_id, child_id) is None:
            continue
        progress = session.get(ChapterProgress, (child_id, chapter.id))
        listeners.append(
            ChapterListener(
                child_id=child_id,
                given_name=child.given_name,
                heard_ms=covered(progress.heard) if progress else 0,
                position_ms=progress.position_ms if progress else 0,
                finished=progress.finished if progress else False,
            )
        )
    return ChapterStatus(
        id=chapter.id,
        number=chapter.number,
        title=chapter.title,
        state=chapter.state,
        asset_id=chapter.asset_id,
        duration_ms=asset.duration_ms if asset else None,
        release_at=chapter.release_at,
        released=service.released(chapter),
        listeners=listeners,
    )


@router.post("/narrators/me", status_code=201)
def apply_as_narrator(
    body: NarratorApply, principal: CurrentPrincipal, session: SessionDep
) -> NarratorPublic:
    profile = service.apply_as_narrator(session, principal.user, body.display_name, body.bio)
    return NarratorPublic(
        user_id=profile.user_id, display_name=profile.display_name, state=profile.state
    )


@router.post("/series", status_code=201)
def create_series(
    body: SeriesCreate, principal: CurrentPrincipal, session: SessionDep
) -> SeriesPublic:
    if principal.role is Role.child:
        raise Forbidden("Children do not create series")
    series = service.create_series(session, principal.user, body.title)
    return SeriesPublic(id=series.id, title=series.title)


@router.post("", status_code=201)
def create_story(
    body: StoryCreate, principal: CurrentPrincipal, session: SessionDep
) -> StoryPublic:
    story = service.create_story(session, principal.user, **body.model_dump())
    return story_public(session, story, principal.user)


@router.get("")
def list_stories(principal: CurrentPrincipal, session: SessionDep) -> list[StoryPublic]:
    """A child's private stories that are available now; anyone else's own stories."""
    user = principal.user
    if user.role is Role.child:
        stories = service.child_private_stories(session, user.id)
    else:
        stories = service.own_stories(session, user)
    return [story_public(session, s, user) for s in stories]


@router.get("/{story_id}")
def get_story(story: VisibleStory, principal: CurrentPrincipal, session: SessionDep) -> StoryPublic:
    return story_public(session, story, principal.user)


@router.patch("/{story_id}")
def update_story(
    body: StoryUpdate, story: OwnStory, principal: CurrentPrincipal, session: SessionDep
) -> StoryPublic:
    service.update_story(session, story, body.model_dump(exclude_unset=True))
    return story_public(session, story, principal.user)


@router.post("/{story_id}/submit")
def submit_story(story: OwnStory, principal: CurrentPrincipal, session: SessionDep) -> StoryPublic:
    service.submit(session, story)
    return story_public(session, story, principal.user)


@router.post("/{story_id}/publish")
def publish_story(story: OwnStory, principal: CurrentPrincipal, session: SessionDep) -> StoryPublic:
    service.publish(session, story)
    return story_public(session, story, principal.user)


@router.get("/{story_id}/chapters")
def list_chapters(story: OwnStory, session: SessionDep) -> StoryChapters:
    """Every chapter of the narrator's story: processing, ready or failed, its release
    time, and (a private story) which of their children heard it."""
    school = None
    for child_id in sorted(service.audience(session, story.id)):
        child = session.get(Child, child_id)
        school = session.get(School, child.school_id) if child else None
        if school is not None:
            break
    return StoryChapters(
        story_id=story.id,
        timezone=school.timezone if school else "UTC",
        listening_hours=[
            ListeningWindow.model_validate(w) for w in (school.listening_hours if school else [])
        ],
        chapters=[chapter_status(session, story, c) for c in service.chapters(session, story.id)],
    )


@router.put("/{story_id}/chapters/{chapter_id}/release")
def schedule_chapter(
    body: ChapterRelease, story: OwnStory, chapter: OwnChapter, session: SessionDep
) -> ChapterStatus:
    """When a private story's chapter reaches the children: a time on the school's clock
    (the child's bedtime), or null for at once. Before it, children do not see it."""
    service.schedule_chapter(session, story, chapter, body.release_at_local)
    return chapter_status(session, story, chapter)


@router.get("/{story_id}/chapters/{chapter_id}/audio", response_model=None)
def play_chapter(
    request: Request,
    chapter: PlayableChapter,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    return audio_response(request, store, settings, service.playable_asset(session, chapter))


@router.put("/{story_id}/chapters/{chapter_id}/progress")
def record_progress(
    body: ProgressUpdate, chapter: PlayableChapter, principal: CurrentPrincipal, session: SessionDep
) -> ProgressPublic:
    if principal.role is not Role.child:
        raise Forbidden("Only the listening child records progress")
    progress = boxes.record_progress(session, principal.id, chapter, body.position_ms, body.heard)
    return ProgressPublic(
        chapter_id=chapter.id, position_ms=progress.position_ms, finished=progress.finished
    )


@router.get("/{story_id}/figures")
def story_figures(
    story: VisibleStory, principal: CurrentPrincipal, session: SessionDep
) -> FiguresPublic:
    if principal.role is Role.child:
        raise Forbidden("Figures are for narrators")
    listeners, finishers = boxes.figures(session, story.id)
    return FiguresPublic(story_id=story.id, listeners=listeners, finishers=finishers)


@moderation.get("/stories")
def review_queue(principal: CurrentPrincipal, session: SessionDep) -> list[StoryPublic]:
    if not policy.is_moderator(principal.user):
        raise Forbidden("Moderators only")
    return [story_public(session, s, principal.user) for s in service.review_queue(session)]


@moderation.post("/stories/{story_id}/approve")
def approve(
    story: ReviewableStory, principal: CurrentPrincipal, session: SessionDep
) -> StoryPublic:
    """Approves a submitted story. A first version is then its narrator's to publish; a
    change to a story published before goes straight back onto the shelves that hold it."""
    service.review(session, principal.user, story, True, None)
    return story_public(session, story, principal.user)


@moderation.post("/stories/{story_id}/reject")
def reject(
    body: ReviewRequest, story: ReviewableStory, principal: CurrentPrincipal, session: SessionDep
) -> StoryPublic:
    service.review(session, principal.user, story, False, body.reason)
    return story_public(session, story, principal.user)


@moderation.post("/narrators/{user_id}/verify")
def verify_narrator(
    user_id: uuid.UUID, body: NarratorVerify, principal: CurrentPrincipal, session: SessionDep
) -> NarratorPublic:
    if not policy.is_moderator(principal.user):
        raise Forbidden("Moderators only")
    profile = service.verify_narrator(session, principal.user, user_id, body.verified)
    return NarratorPublic(
        user_id=profile.user_id, display_name=profile.display_name, state=profile.state
    )
