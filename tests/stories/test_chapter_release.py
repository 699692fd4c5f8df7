"""A guardian schedules each chapter on the school's clock and sees which child heard it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.audio.make import make_recording
from tests.factories import Factory
from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.notifications.models import Notification
from voicebridge.stories.purpose import ingest_file


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    # 2026-12-01 10:00 UTC is 18:00 in Shanghai.
    fake = clock.FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


def test_chapter_waits_for_bedtime_then_parent_sees_it_heard(
    session: Session,
    factory: Factory,
    client: TestClient,
    app: FastAPI,
    tmp_path: Path,
    fake_clock: clock.FakeClock,
) -> None:
    school = factory.school()  # Asia/Shanghai
    child = factory.child(school)
    guardian, _ = factory.guardian_of(child)
    other_school = factory.school("Far Away")
    stranger, _ = factory.guardian_of(factory.child(other_school, name="Hua"))
    child_user = session.get(User, child.id)
    assert child_user is not None
    parent, kid, outsider = (
        factory.headers(guardian),
        factory.headers(child_user),
        factory.headers(stranger),
    )
    session.commit()

    created = client.post(
        "/api/v1/stories",
        json={"visibility": "private", "title": "Moon", "child_ids": [str(child.id)]},
        headers=parent,
    )
    assert created.status_code == 201, created.text
    story_id = created.json()["id"]
    assert created.json()["child_ids"] == [str(child.id)]

    recording = make_recording(tmp_path / "one.m4a", "m4a", 2.0)
    chapter = ingest_file(
        session,
        app.state.store,
        app.state.settings.audio,
        guardian,
        recording,
        {
            "story_id": story_id,
            "chapter_title": "The rabbit",
            "release_at_local": "2026-12-01T20:30",
        },
    )
    session.commit()
    # 20:30 on the school's clock (UTC+8) is 12:30 UTC.
    assert chapter.release_at == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    [news] = session.exec(select(Notification).where(Notification.recipient_id == child.id)).all()
    assert news.visible_at == chapter.release_at

    listed = client.get(f"/api/v1/stories/{story_id}/chapters", headers=parent).json()
    assert listed["timezone"] == "Asia/Shanghai"
    [status] = listed["chapters"]
    assert status["released"] is False
    assert status["listeners"] == [
        {
            "child_id": str(child.id),
            "given_name": "Ming",
            "heard_ms": 0,
            "position_ms": 0,
            "finished": False,
        }
    ]

    audio = f"/api/v1/stories/{story_id}/chapters/{chapter.id}/audio"
    # Before bedtime the child finds nothing: no story, no chapter, no audio.
    assert client.get("/api/v1/stories", headers=kid).json() == []
    assert client.get(f"/api/v1/stories/{story_id}", headers=kid).status_code == 404
    assert client.get(audio, headers=kid).status_code == 404
    assert client.get(audio, headers=parent).status_code == 200  # the parent listens back

    # Moved to 21:00 the same evening: the child's notice moves with it.
    moved = client.put(
        f"/api/v1/stories/{story_id}/chapters/{chapter.id}/release",
        json={"release_at_local": "2026-12-01T21:00:00"},
        headers=parent,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["release_at"].startswith("2026-12-01T13:00:00")
    session.refresh(news)
    assert news.visible_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)

    fake_clock.advance(hours=3, minutes=1)  # 21:01 in Shanghai
    # Sessions are short (a child's very short): everyone signs in again at bedtime.
    kid, parent = factory.headers(child_user), factory.headers(guardian)
    outsider = factory.headers(stranger)
    session.commit()
    [shown] = client.get("/api/v1/stories", headers=kid).json()
    assert [c["id"] for c in shown["chapters"]] == [str(chapter.id)]
    assert client.get(audio, headers=kid).status_code == 200
    heard = client.put(
        f"/api/v1/stories/{story_id}/chapters/{chapter.id}/progress",
        json={"position_ms": 1900, "heard": [[0, 1900]]},
        headers=kid,
    )
    assert heard.status_code == 200, heard.text

    [status] = client.get(f"/api/v1/stories/{story_id}/chapters", headers=parent).json()["chapters"]
    assert status["released"] is True
    assert status["listeners"][0]["finished"] is True
    assert status["listeners"][0]["heard_ms"] == 1900

    # Another family's guardian, the child and bad times are all refused.
    base = f"/api/v1/stories/{story_id}/chapters"
    assert client.get(base, headers=outsider).status_code == 404
    assert client.get(base, headers=kid).status_code == 403
    for bad in ("2026-12-01T20:30:00+08:00", "1900-01-01T20:30", "tonight"):
        refused = client.put(
            f"{base}/{chapter.id}/release", json={"release_at_local": bad}, headers=parent
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    # Null releases at once.
    now = client.put(
        f"{base}/{chapter.id}/release", json={"release_at_local": None}, headers=parent
    )
    assert now.json()["release_at"] is None
    assert now.json()["released"] is True


def test_progress_a_frame_past_the_end_counts_as_the_end(
    session: Session, factory: Factory, client: TestClient, app: FastAPI, tmp_path: Path
) -> None:
    """A browser reports its own end of the audio, a little past the server's duration."""
    school = factory.school()
    child = factory.child(school)
    guardian, _ = factory.guardian_of(child)
    child_user = session.get(User, child.id)
    assert child_user is not None
    parent, kid = factory.headers(guardian), factory.headers(child_user)
    session.commit()
    story_id = client.post(
        "/api/v1/stories",
        json={"visibility": "private", "title": "Sun", "child_ids": [str(child.id)]},
        headers=parent,
    ).json()["id"]
    chapter = ingest_file(
        session,
        app.state.store,
        app.state.settings.audio,
        guardian,
        make_recording(tmp_path / "one.wav", "wav", 1.0),
        {"story_id": story_id},
    )
    session.commit()
    duration = client.get(f"/api/v1/stories/{story_id}", headers=kid).json()["chapters"][0][
        "duration_ms"
    ]
    url = f"/api/v1/stories/{story_id}/chapters/{chapter.id}/progress"
    past = duration + 40
    done = client.put(url, json={"position_ms": past, "heard": [[0, past]]}, headers=kid)
    assert done.status_code == 200, done.text
    assert done.json() == {"chapter_id": str(chapter.id), "position_ms": duration, "finished": True}
    far = client.put(url, json={"position_ms": duration + 60_000}, headers=kid)
    assert far.status_code == 422
