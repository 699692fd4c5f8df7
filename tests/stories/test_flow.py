"""The issue's acceptance path: import, moderate, box, assign, play; outsiders get 404."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.stories.importer import run_import
from voicebridge.stories.models import Story, StoryStatus


def test_import_moderate_box_and_play(
    session: Session,
    factory: Factory,
    client: TestClient,
    app: FastAPI,
    folder: Path,
    narrator: User,
) -> None:
    store = app.state.store
    report = run_import(session, store, app.state.settings.audio, narrator, folder)
    assert sorted(report.imported) == ["fox.wav", "moon-1.m4a", "moon-2.mp3"]
    assert set(report.problems) == {"broken.mp3", "missing.mp3"}
    assert (
        "not a sound recording" in report.problems["broken.mp3"].lower()
        or report.problems["broken.mp3"]
    )
    again = run_import(session, store, app.state.settings.audio, narrator, folder)
    assert again.imported == []
    assert sorted(again.skipped) == sorted(report.imported)

    moon, fox = (session.get(Story, sid) for sid in report.story_ids)
    assert moon is not None
    assert fox is not None
    assert moon.status is StoryStatus.submitted
    moderator = factory.user(Role.moderator, "Reviewer")
    mod, reader = factory.headers(moderator), factory.headers(narrator)
    session.commit()  # the test's setup outlives a refused request's rollback

    # A narrator cannot approve their own story, neither by status nor by the action.
    assert (
        client.patch(
            f"/api/v1/stories/{moon.id}", json={"status": "published"}, headers=reader
        ).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/moderation/stories/{moon.id}/approve", headers=reader).status_code
        == 403
    )
    assert client.post(f"/api/v1/stories/{moon.id}/publish", headers=reader).status_code == 409

    assert (
        client.post(f"/api/v1/moderation/stories/{moon.id}/approve", headers=mod).status_code == 200
    )
    rejected = client.post(
        f"/api/v1/moderation/stories/{fox.id}/reject", json={"reason": "noise"}, headers=mod
    )
    assert rejected.json()["rejection_reason"] == "noise"
    published = client.post(f"/api/v1/stories/{moon.id}/publish", headers=reader)
    assert published.json()["status"] == "published"
    assert [c["number"] for c in published.json()["chapters"]] == [1, 2]

    box = client.post("/api/v1/storyboxes", json={"title": "Mid-autumn"}, headers=mod).json()
    assert (
        client.post(
            f"/api/v1/storyboxes/{box['id']}/stories", json={"story_id": str(fox.id)}, headers=mod
        ).status_code
        == 409
    )
    added = client.post(
        f"/api/v1/storyboxes/{box['id']}/stories", json={"story_id": str(moon.id)}, headers=mod
    )
    assert added.json()["version"] == 1

    school = factory.school()
    class_a, class_b = factory.school_class(school), factory.school_class(school)
    child_a, child_b = factory.child(school, class_a), factory.child(school, class_b, "Hua")
    assign = client.post(
        f"/api/v1/storyboxes/{box['id']}/assignments",
        json={"school_id": str(school.id), "class_id": str(class_a.id)},
        headers=mod,
    )
    assert assign.status_code == 201

    a_user, b_user = session.get(User, child_a.id), session.get(User, child_b.id)
    assert a_user is not None
    assert b_user is not None
    as_a, as_b = factory.headers(a_user), factory.headers(b_user)
    session.commit()
    assert [b["id"] for b in client.get("/api/v1/storyboxes", headers=as_a).json()] == [box["id"]]
    assert client.get("/api/v1/storyboxes", headers=as_b).json() == []
    shown = client.get(f"/api/v1/storyboxes/{box['id']}", headers=as_a).json()
    chapter = shown["stories"][0]["chapters"][0]
    audio_url = f"/api/v1/stories/{moon.id}/chapters/{chapter['id']}/audio"
    played = client.get(audio_url, headers=as_a)
    assert played.status_code == 200
    assert played.content[:4] == b"OggS"

    assert client.get(f"/api/v1/storyboxes/{box['id']}", headers=as_b).status_code == 404
    assert client.get(audio_url, headers=as_b).status_code == 404
    assert client.get(f"/api/v1/stories/{fox.id}", headers=as_a).status_code == 404

    progress = f"/api/v1/stories/{moon.id}/chapters/{chapter['id']}/progress"
    far = client.put(progress, json={"position_ms": 1500, "heard": [[0, 1500]]}, headers=as_a)
    assert far.json()["position_ms"] == 1500
    back = client.put(progress, json={"position_ms": 200, "heard": [[0, 200]]}, headers=as_a)
    assert back.json()["position_ms"] == 1500
    resumed = client.get(f"/api/v1/stories/{moon.id}", headers=as_a).json()["resume"]
    assert resumed == {"chapter_id": chapter["id"], "position_ms": 1500, "finished": False}

    figures = client.get(f"/api/v1/stories/{moon.id}/figures", headers=reader).json()
    assert figures == {"story_id": str(moon.id), "listeners": 1, "finishers": 0}

    # An edit to the published story takes it out of children's reach until re-approved.
    edit = client.patch(f"/api/v1/stories/{moon.id}", json={"title": "Moon Rabbit"}, headers=reader)
    assert edit.json()["status"] == "submitted"
    assert client.get(audio_url, headers=as_a).status_code == 404
    assert client.get(f"/api/v1/storyboxes/{box['id']}", headers=as_a).json()["stories"] == []
