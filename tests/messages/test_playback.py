"""Playback on both stores: a presigned redirect on S3, Range responses on the local store."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from tests.messages.conftest import Family
from tests.messages.helpers import opus_recording, ready_message, start_message
from voicebridge.storage.local import LocalObjectStore


@pytest.fixture
def served_by(app: FastAPI, store: Any) -> Any:
    """The app plays from the parametrized store (local directory, then SeaweedFS S3)."""
    app.state.store = store
    return store


def test_listener_gets_the_recording_from_either_store(
    client: TestClient, session: Session, factory: Factory, family: Family, served_by: Any
) -> None:
    message = ready_message(session, served_by, family.guardian, family.thread)
    expected = opus_recording().data
    response = client.get(
        f"/api/v1/messages/{message.id}/audio",
        headers=factory.headers(family.child_user),
        follow_redirects=False,
    )
    if isinstance(served_by, LocalObjectStore):
        assert response.status_code == 200
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["content-length"] == str(len(expected))
        assert response.headers["content-type"] == "audio/ogg"
        assert response.content == expected
        return
    assert response.status_code == 307
    url = response.headers["location"]
    assert "X-Amz-Signature" in url
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.content == expected
    assert fetched.headers["content-type"] == "audio/ogg"
    part = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == expected[:100]
    tampered = httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    assert tampered.status_code == 403


def test_only_ready_messages_of_the_callers_threads_play(
    client: TestClient, session: Session, factory: Factory, family: Family, served_by: Any
) -> None:
    message = ready_message(session, served_by, family.guardian, family.thread)
    pending, _ = start_message(session, family.guardian, family.thread)
    other_child = factory.child(family.school)
    other_guardian, _ = factory.guardian_of(other_child)
    other_staff = factory.staff(factory.school("B"))
    session.commit()  # a refused request rolls back everything not yet committed
    url = f"/api/v1/messages/{message.id}/audio"
    for outsider in (other_guardian, family.staff, other_staff):
        response = client.get(url, headers=factory.headers(outsider), follow_redirects=False)
        assert response.status_code == 404
        assert "location" not in response.headers
    own_pending = client.get(
        f"/api/v1/messages/{pending.id}/audio", headers=factory.headers(family.guardian)
    )
    assert own_pending.status_code == 404
    # The sender may play back their own ready message.
    own = client.get(url, headers=factory.headers(family.guardian), follow_redirects=False)
    assert own.status_code in (200, 307)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-64", -64, None)],
)
def test_local_range_requests(
    client: TestClient,
    session: Session,
    factory: Factory,
    family: Family,
    app_store: Any,
    header: str,
    first: int,
    last: int | None,
) -> None:
    message = ready_message(session, app_store, family.guardian, family.thread)
    data = opus_recording().data
    size = len(data)
    response = client.get(
        f"/api/v1/messages/{message.id}/audio",
        headers={**factory.headers(family.child_user), "Range": header},
    )
    assert response.status_code == 206
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == data[start : end + 1]


def test_local_range_past_the_end_is_416(
    client: TestClient, session: Session, factory: Factory, family: Family, app_store: Any
) -> None:
    message = ready_message(session, app_store, family.guardian, family.thread)
    size = len(opus_recording().data)
    headers = factory.headers(family.child_user)
    url = f"/api/v1/messages/{message.id}/audio"
    response = client.get(url, headers={**headers, "Range": f"bytes={size}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.headers["content-type"] == "application/problem+json"
    # A range ending past the end is cut to the end, and a malformed one is ignored.
    tail = client.get(url, headers={**headers, "Range": f"bytes={size - 10}-{size + 500}"})
    assert tail.status_code == 206
    assert len(tail.content) == 10
    whole = client.get(url, headers={**headers, "Range": "pages=1-2"})
    assert whole.status_code == 200
    assert len(whole.content) == size
