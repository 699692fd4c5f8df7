"""Regressions from review: who may keep reaching a child through stories, and what a
moderator must have heard before a story is published."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.errors import Conflict, NotFound
from voicebridge.families import service as families
from voicebridge.stories import service
from voicebridge.stories.models import Chapter, ChapterState, Story, StoryStatus, Visibility
from voicebridge.stories.purpose import PURPOSE


def _ready_chapter(session: Session, story: Story, number: int, title: str) -> Chapter:
    asset = AudioAsset(
        owner_id=story.narrator_id,
        purpose="story_chapter",
        state=AssetState.ready,
        playable_key=f"audio/test/{story.id.hex}-{number}.ogg",
        playable_size=10,
        duration_ms=1000,
    )
    session.add(asset)
    session.flush()
    chapter = Chapter(
        story_id=story.id, number=number, title=title, asset_id=asset.id, state=ChapterState.ready
    )
    session.add(chapter)
    session.flush()
    return chapter


def test_revoked_guardian_loses_the_story_channel(
    client: TestClient, session: Session, factory: Factory
) -> None:
    school = factory.school()
    staff = factory.staff(school)
    child = factory.child(school)
    guardian, link = factory.guardian_of(child)
    story = service.create_story(
        session, guardian, visibility=Visibility.private, title="Bedtime", child_ids=[child.id]
    )
    _ready_chapter(session, story, 1, "Night one")
    child_user = session.get(User, child.id)
    assert child_user is not None
    child_h = factory.headers(child_user)
    guardian_h = factory.headers(guardian)
    assert client.get(f"/api/v1/stories/{story.id}", headers=child_h).status_code == 200

    families.revoke_link(session, link, staff.id, "court order")
    session.commit()
    assert client.get(f"/api/v1/stories/{story.id}", headers=child_h).status_code == 404
    listed = client.get("/api/v1/stories", headers=child_h)
    assert str(story.id) not in listed.text
    assert client.get(f"/api/v1/stories/{story.id}", headers=guardian_h).status_code == 404
    refused = None
    try:
        PURPOSE.authorize(session, guardian, {"story_id": str(story.id), "chapter_title": "more"})
    except NotFound as exc:
        refused = exc
    assert refused is not None, "a revoked guardian must not add recordings for the child"


def test_new_audio_on_a_public_story_goes_back_to_review(
    session: Session, factory: Factory
) -> None:
    narrator = factory.user(Role.psychologist, "Narrator")
    moderator = factory.user(Role.moderator, "Moderator")
    service.apply_as_narrator(session, narrator, "Narrator", "")
    service.verify_narrator(session, moderator, narrator.id, True)
    story = service.create_story(session, narrator, visibility=Visibility.public, title="Moon")
    _ready_chapter(session, story, 1, "reviewed")
    service.submit(session, story)
    # A second chapter is still being processed when the moderator looks.
    pending_asset = AudioAsset(owner_id=narrator.id, purpose="story_chapter")
    session.add(pending_asset)
    session.flush()
    PURPOSE.on_created(session, narrator, pending_asset, {"story_id": str(story.id)})
    refused = None
    try:
        service.review(session, moderator, story, True, None)
    except Conflict as exc:
        refused = exc
    assert refused is not None, "approval waits until every chapter can be heard"
    # Once it is playable, the story is back in review whatever its state was.
    service.review(session, moderator, story, False, "wait for chapter two")
    assert story.status is StoryStatus.rejected
    PURPOSE.on_ready(session, pending_asset)
    assert story.status is StoryStatus.submitted
    service.review(session, moderator, story, True, None)
    service.publish(session, story)
    assert story.status is StoryStatus.published
