"""The feed, preferences and push subscriptions over HTTP, as a parent's phone would use them."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import make_settings
from tests.factories import Factory
from voicebridge.accounts.models import Role
from voicebridge.notifications import outbox, vapid
from voicebridge.notifications.config import NotificationSettings, PushSettings

P256DH = "B" + "A" * 86
AUTH = "A" * 22


def test_a_parent_reads_their_feed_and_sets_quiet_hours(
    client: TestClient, session: Session, factory: Factory
) -> None:
    guardian = factory.user(Role.guardian, "Mum")
    headers = factory.headers(guardian)
    for n in range(3):
        outbox.record(session, guardian.id, "message.reply", {"child_name": "Hua", "thread_id": n})
    page = client.get("/api/v1/notifications?limit=2", headers=headers).json()
    assert [i["body"] for i in page["items"]] == ["Hua给您发来了一段语音。"] * 2
    rest = client.get(
        f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=headers
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert client.get("/api/v1/notifications/unread-count", headers=headers).json() == {"unread": 3}
    first = page["items"][0]["id"]
    read = client.post(f"/api/v1/notifications/{first}/read", headers=headers).json()
    assert read["read_at"] is not None
    assert client.post("/api/v1/notifications/read-all", headers=headers).json() == {"marked": 2}
    assert client.get("/api/v1/notifications/unread-count", headers=headers).json()["unread"] == 0

    changed = client.patch(
        "/api/v1/notifications/preferences",
        headers=headers,
        json={
            "language": "en",
            "quiet_start": "21:00",
            "quiet_end": "06:30",
            "timezone": "Asia/Urumqi",
            "channels": {"messages": ["sms"]},
        },
    ).json()
    assert changed["channels"]["messages"] == ["in_app", "sms"]
    assert changed["quiet_start"] == "21:00"
    english = client.get("/api/v1/notifications", headers=headers).json()
    assert english["items"][0]["body"] == "Hua sent you a voice message."
    bad = client.patch(
        "/api/v1/notifications/preferences", headers=headers, json={"timezone": "Mars/Base"}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_a_browser_subscribes_and_unsubscribes(
    client: TestClient, factory: Factory, app: FastAPI, tmp_path: Path
) -> None:
    private, public = vapid.generate()
    push = PushSettings(vapid_private_key=private)  # type: ignore[arg-type]
    app.state.settings = make_settings(
        tmp_path, auth=app.state.settings.auth, notifications=NotificationSettings(push=push)
    )
    guardian = factory.user(Role.guardian, "Dad")
    headers = factory.headers(guardian)
    key = client.get("/api/v1/notifications/push/key", headers=headers).json()["public_key"]
    assert key == public
    assert len(key) == 87  # an uncompressed P-256 point, base64url
    body = {"endpoint": "https://fcm.example.com/send/1", "keys": {"p256dh": P256DH, "auth": AUTH}}
    made = client.post("/api/v1/notifications/push/subscriptions", headers=headers, json=body)
    assert made.status_code == 201
    again = client.post("/api/v1/notifications/push/subscriptions", headers=headers, json=body)
    assert again.json()["id"] == made.json()["id"]  # the same browser is one subscription
    plain = {**body, "endpoint": "http://10.0.0.5/push"}
    refused = client.post("/api/v1/notifications/push/subscriptions", headers=headers, json=plain)
    assert refused.status_code == 422
    gone = client.delete(
        f"/api/v1/notifications/push/subscriptions/{made.json()['id']}", headers=headers
    )
    assert gone.status_code == 204
