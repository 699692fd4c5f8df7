"""Issue 13.5: an upload whose sender lost the right to post before its last byte is
discarded (parts deleted) and never becomes a message, even if the link comes back."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from tests.uploads.conftest import PART, TUS, metadata_header
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.config import Settings
from voicebridge.families import service as families
from voicebridge.messages import service as messages
from voicebridge.messages.models import MessageState
from voicebridge.messages.purpose import message_for_asset
from voicebridge.storage.base import ObjectStore
from voicebridge.stories import service as stories
from voicebridge.stories.models import NarratorProfile, Story, Visibility
from voicebridge.uploads.models import Upload

OCTET = {"Content-Type": "application/offset+octet-stream"}


def test_an_upload_finished_after_the_link_was_revoked_is_discarded(
    tus: TestClient, session: Session, settings: Settings, store: ObjectStore
) -> None:
    factory = Factory(session, settings)
    school = factory.school()
    staff = factory.staff(school)
    child = factory.child(school)
    guardian, link = factory.guardian_of(child)
    thread = messages.open_thread(session, guardian, child, None)
    h = {**factory.headers(guardian), **TUS}
    data = bytes(range(256)) * ((PART + 300_000) // 256)
    created = tus.post(
        "/api/v1/uploads",
        headers={
            **h,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(
                purpose="message", thread_id=str(thread.id), filetype="audio/wav"
            ),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    upload_id = uuid.UUID(location.rsplit("/", 1)[1])
    half = PART + 1000
    first = tus.patch(location, content=data[:half], headers={**h, **OCTET, "Upload-Offset": "0"})
    assert first.status_code == 204, first.text
    upload = session.get(Upload, upload_id)
    assert upload is not None
    assert upload.parts, "a part is in the store before the link goes"
    key, asset_id = upload.object_key, upload.asset_id
    # The school revokes the guardian's link while the phone is still sending.
    families.revoke_link(session, link, staff.id, "court order")
    session.flush()
    last = tus.patch(
        location, content=data[half:], headers={**h, **OCTET, "Upload-Offset": str(half)}
    )
    assert last.status_code == 403, last.text
    session.expire_all()
    assert session.get(Upload, upload_id) is None
    asset = session.get(AudioAsset, asset_id)
    assert asset is not None
    assert asset.state is AssetState.failed
    assert asset.failure_type == "not-allowed"
    assert store.head(key) is None, "nothing was assembled from the parts"
    message = message_for_asset(session, asset)
    assert message is not None
    assert message.state is MessageState.failed
    # Even if the link is restored, the message never becomes playable for the child.
    link.revoked_at = None
    session.add(link)
    session.flush()
    assert message.state is not MessageState.ready


def test_public_stories_show_the_pen_name(session: Session, settings: Settings) -> None:
    factory = Factory(session, settings)
    narrator = factory.user(Role.guardian, "Zhang Wei (real name)")
    session.add(NarratorProfile(user_id=narrator.id, display_name="Uncle Tao"))
    session.flush()
    story = Story(
        narrator_id=narrator.id,
        visibility=Visibility.public,
        title="The Little Yak",
        language="zh",
        age_min=5,
        age_max=9,
    )
    assert stories.narrator_name(session, story) == "Uncle Tao"
    stranger = factory.user(Role.guardian, "Real Name")
    nameless = Story(
        narrator_id=stranger.id,
        visibility=Visibility.public,
        title="X",
        language="zh",
        age_min=5,
        age_max=9,
    )
    assert stories.narrator_name(session, nameless) == ""
