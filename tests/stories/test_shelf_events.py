"""Which children hear that a story box's shelf changed, and when a reviewed edit goes back out."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from tests.factories import Factory
from tests.stories.test_safety import _ready_chapter
from voicebridge.accounts.models import Role
from voicebridge.live.models import LiveEvent
from voicebridge.stories import boxes, service
from voicebridge.stories.models import StoryStatus, Visibility


def _shelf_events(session: Session, since: int) -> list[tuple[uuid.UUID, str]]:
    rows = session.exec(
        select(LiveEvent).where(col(LiveEvent.id) > since, LiveEvent.kind == "storybox.changed")
    )
    return [(row.user_id, row.data["box_id"]) for row in rows]


def _last_id(session: Session) -> int:
    found = session.exec(select(LiveEvent.id).order_by(col(LiveEvent.id).desc())).first()
    return int(found or 0)


def test_a_reviewed_edit_leaves_and_returns_to_the_class_shelf_and_tells_its_children(
    session: Session, factory: Factory
) -> None:
    narrator = factory.user(Role.staff, "Reader")
    moderator = factory.user(Role.moderator, "Mod")
    service.apply_as_narrator(session, narrator, "Reader", "")
    service.verify_narrator(session, moderator, narrator.id, True)
    story = service.create_story(session, narrator, visibility=Visibility.public, title="Yak")
    _ready_chapter(session, story, 1, "one")
    service.submit(session, story)
    service.review(session, moderator, story, True, None)
    # A first version waits for its narrator.
    assert story.status is StoryStatus.approved
    service.publish(session, story)
    box = boxes.create_box(session, moderator, "Evening", "")
    boxes.add_story(session, box, story)

    school = factory.school()
    grade3, grade4 = factory.school_class(school), factory.school_class(school)
    other = factory.school("Elsewhere")
    in_class = factory.child(school, grade3, "Ming")
    next_door = factory.child(school, grade4, "Hua")
    far_away = factory.child(other, factory.school_class(other), "Lan")

    before = _last_id(session)
    boxes.assign(session, box, school.id, grade3.id)
    assert _shelf_events(session, before) == [(in_class.id, str(box.id))]

    before = _last_id(session)
    service.update_story(session, story, {"title": "The Little Yak"})
    assert story.status is StoryStatus.submitted
    assert boxes.box_stories(session, box.id) == []
    assert _shelf_events(session, before) == [(in_class.id, str(box.id))]

    before = _last_id(session)
    service.review(session, moderator, story, True, None)
    # The narrator published it once: the approved change goes straight back out.
    assert story.status is StoryStatus.published
    assert [s.id for s in boxes.box_stories(session, box.id)] == [story.id]
    assert _shelf_events(session, before) == [(in_class.id, str(box.id))]

    # Given to the whole school, the next class hears of it too; the other school never.
    before = _last_id(session)
    boxes.assign(session, box, school.id, None)
    heard = {child for child, _ in _shelf_events(session, before)}
    assert heard == {in_class.id, next_door.id}
    assert far_away.id not in heard


def test_a_rejected_edit_stays_off_the_shelf(session: Session, factory: Factory) -> None:
    narrator = factory.user(Role.staff, "Reader")
    moderator = factory.user(Role.moderator, "Mod")
    service.apply_as_narrator(session, narrator, "Reader", "")
    service.verify_narrator(session, moderator, narrator.id, True)
    story = service.create_story(session, narrator, visibility=Visibility.public, title="Fox")
    _ready_chapter(session, story, 1, "one")
    service.submit(session, story)
    service.review(session, moderator, story, True, None)
    service.publish(session, story)
    box = boxes.create_box(session, moderator, "Evening", "")
    boxes.add_story(session, box, story)
    service.update_story(session, story, {"title": "Fox, again"})
    service.review(session, moderator, story, False, "the new title gives the ending away")
    assert story.status is StoryStatus.rejected
    assert boxes.box_stories(session, box.id) == []
