"""Retention with a fake clock: past-retention data leaves the database and the bucket,
data within retention stays, and help cases follow their own, longer period."""

from __future__ import annotations

from sqlmodel import Session, select

from tests.messages.helpers import opus_recording
from tests.privacy.conftest import World, exists, keys_of, run_jobs, say
from voicebridge.audio.models import AudioAsset
from voicebridge.clock import FakeClock
from voicebridge.config import Settings
from voicebridge.help.models import Category, HelpMessage, HelpRequest, RequestState, Urgency
from voicebridge.jobs.models import Job
from voicebridge.messages.models import Listen, Message
from voicebridge.metrics import REGISTRY
from voicebridge.privacy.config import PrivacySettings
from voicebridge.privacy.retention import RETENTION_JOB
from voicebridge.storage.s3 import S3ObjectStore


def _deleted(reason: str, kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "voicebridge_lifecycle_deleted_total", {"reason": reason, "kind": kind}
    )
    return value or 0.0


def _help_case(
    session: Session, store: S3ObjectStore, world: World
) -> tuple[HelpRequest, list[str]]:
    """A closed help case with the child's recording and a recorded answer."""
    keys = []
    assets = []
    for owner in (world.child_user.id, world.staff.id):
        asset = AudioAsset(owner_id=owner, purpose="help")
        session.add(asset)
        session.flush()
        finish_message_asset(session, store, asset)
        keys += [k for k in (asset.playable_key, asset.original_key) if k]
        assets.append(asset)
    request = HelpRequest(
        child_id=world.child.id,
        school_id=world.school.id,
        category=Category.lonely,
        urgency=Urgency.normal,
        audio_asset_id=assets[0].id,
        state=RequestState.closed,
    )
    session.add(request)
    session.flush()
    session.add(
        HelpMessage(
            request_id=request.id,
            sender_id=world.staff.id,
            from_child=False,
            audio_asset_id=assets[1].id,
        )
    )
    request.closed_at = request.created_at
    session.add(request)
    session.flush()
    return request, keys


def finish_message_asset(session: Session, store: S3ObjectStore, asset: AudioAsset) -> None:
    from voicebridge.storage.base import new_key

    playable = new_key("playable", "ogg")
    store.put_file(playable, opus_recording().path, "audio/ogg")
    asset.playable_key = playable
    session.add(asset)
    session.flush()


def test_past_retention_is_gone_from_database_and_bucket_within_stays(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
) -> None:
    store = s3_store
    old_from_mother = say(session, store, world.mother, world.mother_thread)
    old_reply = say(session, store, world.child_user, world.mother_thread)
    session.add(Listen(message_id=old_from_mother.id, listener_id=world.child.id, plays=1))
    session.flush()
    father_old = say(session, store, world.father, world.father_thread)
    school_old = say(session, store, world.staff, world.school_thread)
    case, case_keys = _help_case(session, store, world)
    fake_clock.advance(days=20)
    recent_from_mother = say(session, store, world.mother, world.mother_thread)
    before = _deleted("retention", "messages")

    fake_clock.advance(days=11)  # day 31: past the mother's 30 days, within the father's 365
    gone = [old_from_mother, old_reply, school_old]
    gone_keys = [k for m in gone for k in keys_of(session, m)]
    kept = [recent_from_mother, father_old]
    kept_keys = [k for m in kept for k in keys_of(session, m)]
    assert run_jobs(session, settings, store) >= 1

    for message in gone:
        assert not exists(session, Message, message.id), "a message past retention stayed"
        assert not exists(session, AudioAsset, message.asset_id)
    assert all(store.head(k) is None for k in gone_keys), "an object past retention stayed"
    for message in kept:
        assert exists(session, Message, message.id), "a message within retention went"
    assert all(store.head(k) is not None for k in kept_keys)
    assert not session.exec(select(Listen).where(Listen.message_id == old_from_mother.id)).all()
    assert _deleted("retention", "messages") - before == 3
    # The help case follows the safeguarding period, not the family's.
    assert exists(session, HelpRequest, case.id)
    assert all(store.head(k) is not None for k in case_keys)

    fake_clock.advance(days=400)  # past the father's 365 too
    run_jobs(session, settings, store)
    assert not exists(session, Message, father_old.id)
    assert exists(session, HelpRequest, case.id)

    fake_clock.advance(days=PrivacySettings().safeguarding_retention_days)
    run_jobs(session, settings, store)
    assert not exists(session, HelpRequest, case.id)
    assert not session.exec(select(HelpMessage).where(HelpMessage.request_id == case.id)).all()
    assert all(store.head(k) is None for k in case_keys)


def test_a_run_stops_and_resumes_from_its_cursor(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
) -> None:
    """Batches of one and no time budget: every batch is a job whose payload holds the cursor."""
    tight = settings.model_copy(
        update={"privacy": PrivacySettings(retention_batch=1, retention_run_seconds=0)}
    )
    sent = [say(session, s3_store, world.mother, world.mother_thread) for _ in range(3)]
    fake_clock.advance(days=31)
    ran = run_jobs(session, tight, s3_store, kinds=[RETENTION_JOB])
    assert ran >= 3
    continued = session.exec(select(Job).where(Job.kind == RETENTION_JOB)).all()
    cursors = [j.payload["cursor"] for j in continued if j.payload.get("cursor")]
    assert cursors
    assert all(c["phase"] == "messages" and c["after"] for c in cursors)
    assert not any(exists(session, Message, m.id) for m in sent)


def test_story_progress_follows_the_childs_retention(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
) -> None:
    """Story progress is the child's: the shortest retention of the child's guardians."""
    from voicebridge.stories.models import Chapter, ChapterProgress, Story, Visibility

    story = Story(narrator_id=world.father.id, visibility=Visibility.private, title="Moon")
    session.add(story)
    session.flush()
    chapters = []
    for number in (1, 2):
        asset = AudioAsset(owner_id=world.father.id, purpose="story_chapter")
        session.add(asset)
        session.flush()
        chapter = Chapter(
            story_id=story.id, number=number, title=f"Part {number}", asset_id=asset.id
        )
        session.add(chapter)
        session.flush()
        chapters.append(chapter)
    session.add(
        ChapterProgress(child_id=world.child.id, chapter_id=chapters[0].id, story_id=story.id)
    )
    session.flush()
    fake_clock.advance(days=20)
    session.add(
        ChapterProgress(child_id=world.child.id, chapter_id=chapters[1].id, story_id=story.id)
    )
    session.flush()
    fake_clock.advance(days=11)  # the first is past the mother's 30 days, the second is not
    run_jobs(session, settings, s3_store)
    left = session.exec(
        select(ChapterProgress.chapter_id).where(ChapterProgress.child_id == world.child.id)
    ).all()
    assert list(left) == [chapters[1].id]
    assert _deleted("retention", "progress") >= 1
