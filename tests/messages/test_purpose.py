"""The "message" upload purpose: the same hooks the upload pipeline calls."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import Factory
from tests.messages.conftest import Family
from tests.messages.helpers import finish_message, opus_recording, start_message
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState
from voicebridge.errors import InvalidInput, NotFound
from voicebridge.families import service as families
from voicebridge.jobs.models import Job
from voicebridge.messages import service
from voicebridge.messages.models import MessageState
from voicebridge.messages.purpose import MESSAGE_PURPOSE
from voicebridge.notifications.models import Notification
from voicebridge.uploads.purposes import PURPOSES


def _jobs(session: Session, kind: str, **payload: str) -> list[Job]:
    """This test's jobs only: other tests' committed rows may share the database."""
    rows = session.exec(select(Job).where(Job.kind == kind)).all()
    return [job for job in rows if all(job.payload.get(k) == v for k, v in payload.items())]


def _told(session: Session, message_id: uuid.UUID) -> list[Notification]:
    rows = session.exec(select(Notification)).all()
    return [n for n in rows if n.data.get("message_id") == str(message_id)]


def test_purpose_is_registered() -> None:
    assert PURPOSES["message"] is MESSAGE_PURPOSE


def test_upload_becomes_visible_only_when_ready(
    session: Session, family: Family, local_store: Any
) -> None:
    message, asset = start_message(session, family.guardian, family.thread, caption="晚安")
    assert message.state is MessageState.uploading
    assert message.caption == "晚安"
    child_view, _ = service.list_messages(session, family.child_user, family.thread, None, 10)
    own_view, _ = service.list_messages(session, family.guardian, family.thread, None, 10)
    assert child_view == []
    assert [m.id for m in own_view] == [message.id]

    asset.state = AssetState.processing
    assert service.display_state(message, asset) is MessageState.processing

    finish_message(session, local_store, asset, opus_recording())
    assert message.state is MessageState.ready
    assert message.ready_at is not None
    assert family.thread.last_message_at == message.ready_at
    child_view, _ = service.list_messages(session, family.child_user, family.thread, None, 10)
    assert [m.id for m in child_view] == [message.id]
    told = _told(session, message.id)
    assert [(n.recipient_id, n.kind) for n in told] == [(family.child_user.id, "message.new")]

    MESSAGE_PURPOSE.on_ready(session, asset)  # a retried processing job
    assert len(_told(session, message.id)) == 1


def test_failed_upload_tells_the_sender_why(session: Session, family: Family) -> None:
    message, asset = start_message(session, family.child_user, family.thread)
    asset.state = AssetState.failed
    asset.failure_type = "not-audio"
    asset.failure_detail = "The file is not a recording"
    MESSAGE_PURPOSE.on_failed(session, asset)
    assert message.state is MessageState.failed
    assert (message.failure_type, message.failure_detail) == asset_failure(asset)
    guardian_view, _ = service.list_messages(session, family.guardian, family.thread, None, 10)
    assert guardian_view == []


def asset_failure(asset: Any) -> tuple[str, str]:
    return asset.failure_type, asset.failure_detail


def test_outsiders_cannot_upload_into_a_thread(
    session: Session, factory: Factory, family: Family
) -> None:
    other_child = factory.child(family.school)
    other_guardian, _ = factory.guardian_of(other_child)
    metadata = {"thread_id": str(family.thread.id)}
    for outsider in (
        other_guardian,
        factory.staff(factory.school("Elsewhere")),
        factory.user(Role.psychologist),
        factory.user(Role.admin),
    ):
        with pytest.raises(NotFound):
            MESSAGE_PURPOSE.authorize(session, outsider, metadata)
    # The school's staff take part in the school thread, not in a family's.
    with pytest.raises(NotFound):
        MESSAGE_PURPOSE.authorize(session, family.staff, metadata)


@pytest.mark.parametrize(
    "metadata",
    [{}, {"thread_id": "not-a-uuid"}],
)
def test_upload_metadata_must_name_a_thread(
    session: Session, family: Family, metadata: dict[str, str]
) -> None:
    with pytest.raises(InvalidInput):
        MESSAGE_PURPOSE.authorize(session, family.guardian, metadata)


def test_caption_is_short(session: Session, family: Family) -> None:
    metadata = {"thread_id": str(family.thread.id), "caption": "好" * 201}
    with pytest.raises(InvalidInput):
        MESSAGE_PURPOSE.authorize(session, family.guardian, metadata)
    MESSAGE_PURPOSE.authorize(session, family.guardian, {**metadata, "caption": "好" * 200})


def test_revoked_link_closes_the_thread_for_both_sides(session: Session, family: Family) -> None:
    metadata = {"thread_id": str(family.thread.id)}
    MESSAGE_PURPOSE.authorize(session, family.child_user, metadata)
    link = families.links_of_child(session, family.child.id)[0][0]
    families.revoke_link(session, link, family.staff.id, "court order")
    for user in (family.guardian, family.child_user):
        with pytest.raises(NotFound):
            MESSAGE_PURPOSE.authorize(session, user, metadata)


def test_deleted_while_processing_purges_when_ready(
    session: Session, family: Family, local_store: Any
) -> None:
    message, asset = start_message(session, family.guardian, family.thread)
    service.delete_message(session, message)
    finish_message(session, local_store, asset, opus_recording())
    assert message.state is MessageState.uploading
    purge = _jobs(session, service.PURGE_JOB, asset_id=str(asset.id))
    assert [j.payload for j in purge] == [{"asset_id": str(asset.id)}]
