"""Loaders: fetch a story, chapter or box and apply the policy; unseen things are 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from voicebridge.accounts.models import Role
from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentDevice, CurrentPrincipal
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, NotFound
from voicebridge.stories import boxes, service
from voicebridge.stories.models import Chapter, ChapterState, Story, StoryBox, Visibility


def visible_story(story_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> Story:
    story = session.get(Story, story_id)
    if story is None or not service.can_see_story(session, principal.user, story):
        raise NotFound("No such story")
    return story


VisibleStory = Annotated[Story, Depends(visible_story)]


def own_story(story: VisibleStory, principal: CurrentPrincipal) -> Story:
    if story.narrator_id != principal.id:
        raise Forbidden("Only the narrator can change this story")
    return story


OwnStory = Annotated[Story, Depends(own_story)]


def reviewable_story(
    story_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Story:
    story = session.get(Story, story_id)
    if story is None or not service.can_see_story(session, principal.user, story):
        raise NotFound("No such story")
    if not policy.is_moderator(principal.user) or story.visibility is not Visibility.public:
        raise Forbidden("Moderators only")
    return story


ReviewableStory = Annotated[Story, Depends(reviewable_story)]


def playable_chapter(
    chapter_id: uuid.UUID, story: VisibleStory, principal: CurrentPrincipal, session: SessionDep
) -> Chapter:
    chapter = session.get(Chapter, chapter_id)
    if chapter is None or chapter.story_id != story.id or chapter.state is not ChapterState.ready:
        raise NotFound("No such chapter")
    # Tonight's chapter does not exist for the child until tonight.
    if principal.role is Role.child and not service.released(chapter):
        raise NotFound("No such chapter")
    return chapter


PlayableChapter = Annotated[Chapter, Depends(playable_chapter)]


def own_chapter(chapter_id: uuid.UUID, story: OwnStory, session: SessionDep) -> Chapter:
    """Any chapter of the narrator's own story, still processing or failed too."""
    chapter = session.get(Chapter, chapter_id)
    if chapter is None or chapter.story_id != story.id:
        raise NotFound("No such chapter")
    return chapter


OwnChapter = Annotated[Chapter, Depends(own_chapter)]


def visible_box(box_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> StoryBox:
    box = session.get(StoryBox, box_id)
    if box is None or not boxes.can_see_box(session, principal.user, box_id):
        raise NotFound("No such story box")
    return box


VisibleBox = Annotated[StoryBox, Depends(visible_box)]


def curated_box(box: VisibleBox, principal: CurrentPrincipal) -> StoryBox:
    if not policy.is_moderator(principal.user):
        raise Forbidden("Moderators curate story boxes")
    return box


CuratedBox = Annotated[StoryBox, Depends(curated_box)]


def downloadable_box(box: VisibleBox, principal: CurrentPrincipal, session: SessionDep) -> StoryBox:
    if not boxes.can_download_box(session, principal.user, box.id):
        raise Forbidden("Children listen in the app; bundles are for staff")
    return box


DownloadableBox = Annotated[StoryBox, Depends(downloadable_box)]


def synced_box(box_id: uuid.UUID, device: CurrentDevice, session: SessionDep) -> StoryBox:
    box = session.get(StoryBox, box_id)
    if box is None or not boxes.device_may_sync(session, device.school_id, box_id):
        raise NotFound("No such story box")
    return box


SyncedBox = Annotated[StoryBox, Depends(synced_box)]
