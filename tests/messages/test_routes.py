"""Threads, inbox, messages, deletion, receipts and the quiet-children report over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import Factory
from tests.messages.conftest import Family
from tests.messages.helpers import ready_message, start_message
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.clock import FakeClock
from voicebridge.families import service as families
from voicebridge.jobs.models import Job
from voicebridge.jobs.registry import JobContext
from voicebridge.messages import service
from voicebridge.messages.jobs import purge_audio
from voicebridge.messages.purpose import MESSAGE_PURPOSE


def test_opening_a_thread_is_get_or_create_from_either_side(
    client: TestClient, factory: Factory, family: Family
) -> None:
    url = f"/api/v1/children/{family.child.id}/thread"
    by_guardian = client.post(url, headers=factory.headers(family.guardian))
    assert by_guardian.status_code == 200, by_guardian.text
    assert by_guardian.json()["id"] == str(family.thread.id)
    by_child = client.post(
        url,
        json={"guardian_id": str(family.guardian.id)},
        headers=factory.headers(family.child_user),
    )
    assert by_child.json()["id"] == str(family.thread.id)
    assert by_child.json()["peer_name"] == family.guardian.display_name

    school_thread = client.post(url, headers=factory.headers(family.staff)).json()
    assert school_thread["kind"] == "school"
    child_school = client.post(url, headers=factory.headers(family.child_user)).json()
    assert child_school["id"] == school_thread["id"]

    stranger = factory.user(family.guardian.role)
    refused = client.post(
        url, json={"guardian_id": str(stranger.id)}, headers=factory.headers(family.child_user)
    )
    assert refused.status_code == 404


def test_inbox_counts_unread_until_heard(
    client: TestClient, session: Session, factory: Factory, family: Family, app_store: Any
) -> None:
    first = ready_message(session, app_store, family.guardian, family.thread)
    ready_message(session, app_store, family.guardian, family.thread)
    start_message(session, family.guardian, family.thread)  # still uploading: not counted
    child_h = factory.headers(family.child_user)

    inbox = client.get("/api/v1/threads", headers=child_h).json()["items"]
    assert [(t["id"], t["unread"]) for t in inbox] == [(str(family.thread.id), 2)]
    assert inbox[0]["last_message_at"] is not None
    guardian_inbox = client.get("/api/v1/threads", headers=factory.headers(family.guardian))
    assert guardian_inbox.json()["items"][0]["unread"] == 0

    report = {
        "play_id": "p1",
        "position_ms": 500,
        "segments": [{"start_ms": 0, "end_ms": 500, "at": "2026-01-01T00:00:00Z"}],
    }
    heard = client.post(f"/api/v1/messages/{first.id}/progress", json=report, headers=child_h)
    assert heard.status_code == 200, heard.text
    inbox = client.get("/api/v1/threads", headers=child_h).json()["items"]
    assert inbox[0]["unread"] == 1


def test_inbox_and_messages_paginate_newest_first(
    client: TestClient,
    session: Session,
    factory: Factory,
    family: Family,
    app_store: Any,
    fake_clock: FakeClock,
) -> None:
    guardian_h = factory.headers(family.guardian)
    sent = []
    for _ in range(5):
        fake_clock.advance(minutes=1)
        sent.append(ready_message(session, app_store, family.guardian, family.thread).id)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            f"/api/v1/threads/{family.thread.id}/messages", params=params, headers=guardian_h
        ).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(i) for i in reversed(sent)]

    siblings = [factory.child(family.school) for _ in range(2)]
    for sibling in siblings:
        families_link_guardian(session, factory, family, sibling)
    threads = []
    for child in [family.child, *siblings]:
        fake_clock.advance(minutes=1)
        threads.append(service.open_thread(session, family.guardian, child, None).id)
    fake_clock.advance(minutes=1)
    ready_message(session, app_store, family.guardian, family.thread)  # moves it to the top
    page1 = client.get("/api/v1/threads", params={"limit": 2}, headers=guardian_h).json()
    page2 = client.get(
        "/api/v1/threads", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=guardian_h
    ).json()
    order = [t["id"] for t in page1["items"] + page2["items"]]
    assert order == [str(threads[0]), str(threads[2]), str(threads[1])]
    assert page2["next_cursor"] is None
    bad = client.get("/api/v1/threads", params={"cursor": "nonsense"}, headers=guardian_h)
    assert bad.status_code == 422


def families_link_guardian(session: Session, factory: Factory, family: Family, child: Any) -> None:
    """Link the same guardian to a sibling, through an invitation as staff would."""
    from voicebridge.families.models import Relation
    from voicebridge.families.schemas import CONSENT_PURPOSES

    _, code = families.issue_invitation(
        session, factory.settings.auth, child, Relation.mother, None, family.staff.id
    )
    families.redeem(
        session,
        factory.settings.auth,
        family.guardian,
        code,
        notice_version="2026-09",
        purposes=list(CONSENT_PURPOSES),
        retention_days=365,
        agreed=True,
    )


def test_message_detail_has_waveform_and_sender_sees_failures(
    client: TestClient, session: Session, factory: Factory, family: Family, app_store: Any
) -> None:
    message = ready_message(session, app_store, family.guardian, family.thread, caption="hi")
    detail = client.get(
        f"/api/v1/messages/{message.id}", headers=factory.headers(family.child_user)
    ).json()
    assert detail["duration_ms"] > 3000
    assert len(detail["peaks"]) > 10
    assert detail["caption"] == "hi"

    failed, asset = start_message(session, family.child_user, family.thread)
    asset.state = AssetState.failed
    asset.failure_type, asset.failure_detail = "audio-too-long", "Longer than 2 hours"
    MESSAGE_PURPOSE.on_failed(session, asset)
    own = client.get(f"/api/v1/messages/{failed.id}", headers=factory.headers(family.child_user))
    assert own.json()["state"] == "failed"
    assert own.json()["failure_type"] == "audio-too-long"
    other = client.get(f"/api/v1/messages/{failed.id}", headers=factory.headers(family.guardian))
    assert other.status_code == 404


def test_delete_hides_the_message_and_purges_its_objects(
    client: TestClient,
    session: Session,
    factory: Factory,
    family: Family,
    app_store: Any,
    settings: Any,
) -> None:
    message = ready_message(session, app_store, family.guardian, family.thread)
    asset = session.get(AudioAsset, message.asset_id)
    assert asset is not None
    keys = [asset.playable_key, asset.original_key]
    assert all(app_store.head(k) is not None for k in keys if k)
    child_h = factory.headers(family.child_user)
    session.commit()  # a refused request rolls back everything not yet committed
    assert client.delete(f"/api/v1/messages/{message.id}", headers=child_h).status_code == 403
    gone = client.delete(f"/api/v1/messages/{message.id}", headers=factory.headers(family.guardian))
    assert gone.status_code == 204
    for path in ("", "/audio"):
        assert (
            client.get(f"/api/v1/messages/{message.id}{path}", headers=child_h).status_code == 404
        )
    jobs = [
        job
        for job in session.exec(select(Job).where(Job.kind == service.PURGE_JOB)).all()
        if job.payload.get("asset_id") == str(asset.id)
    ]
    assert [j.payload for j in jobs] == [{"asset_id": str(asset.id)}]

    # The handler opens its own session; on the test's connection it sees the test's rows.
    ctx = JobContext(session.connection(), settings, app_store)  # type: ignore[arg-type]
    purge_audio(ctx, dict(jobs[0].payload))
    purge_audio(ctx, dict(jobs[0].payload))  # idempotent
    assert all(app_store.head(k) is None for k in keys if k)


def test_receipt_for_the_sender_only(
    client: TestClient, session: Session, factory: Factory, family: Family, app_store: Any
) -> None:
    message = ready_message(session, app_store, family.guardian, family.thread)
    url = f"/api/v1/messages/{message.id}"
    child_h = factory.headers(family.child_user)
    guardian_h = factory.headers(family.guardian)
    session.commit()  # a refused request rolls back everything not yet committed
    for play in ("a", "b"):
        body = {
            "play_id": play,
            "position_ms": 2000,
            "segments": [{"start_ms": 0, "end_ms": 2000, "at": "2030-01-01T00:00:00+08:00"}],
        }
        assert client.post(f"{url}/progress", json=body, headers=child_h).status_code == 200
    receipt = client.get(f"{url}/receipt", headers=guardian_h).json()
    assert receipt["heard_ms"] == 2000
    assert receipt["plays"] == 2
    assert receipt["duration_ms"] > 3000
    assert receipt["completed"] is False
    assert client.get(f"{url}/receipt", headers=child_h).status_code == 403
    own_progress = client.post(
        f"{url}/progress", json={"play_id": "x", "position_ms": 0}, headers=guardian_h
    )
    assert own_progress.status_code == 403
    backwards = client.post(
        f"{url}/progress",
        json={
            "play_id": "c",
            "position_ms": 10,
            "segments": [{"start_ms": 50, "end_ms": 10, "at": "2026-01-01T00:00:00Z"}],
        },
        headers=child_h,
    )
    assert backwards.status_code == 422
    assert client.get(f"{url}/receipt", headers=guardian_h).json()["plays"] == 2


def test_revoked_link_closes_access_on_the_next_request(
    client: TestClient, session: Session, factory: Factory, family: Family, app_store: Any
) -> None:
    message = ready_message(session, app_store, family.guardian, family.thread)
    guardian_h = factory.headers(family.guardian)
    child_h = factory.headers(family.child_user)
    assert client.get(f"/api/v1/messages/{message.id}", headers=child_h).status_code == 200
    link = families.links_of_child(session, family.child.id)[0][0]
    families.withdraw_consent(session, link)
    session.commit()
    for headers in (guardian_h, child_h):
        assert client.get(f"/api/v1/messages/{message.id}", headers=headers).status_code == 404
        assert (
            client.get(f"/api/v1/threads/{family.thread.id}/messages", headers=headers).status_code
            == 404
        )
        assert client.get("/api/v1/threads", headers=headers).json()["items"] == []


def test_quiet_children_report(
    client: TestClient,
    session: Session,
    factory: Factory,
    family: Family,
    app_store: Any,
    fake_clock: FakeClock,
) -> None:
    quiet_for_a_month = factory.child(family.school, family.school_class, name="Hua")
    guardian, _ = factory.guardian_of(quiet_for_a_month)
    old_thread = service.open_thread(session, guardian, quiet_for_a_month, None)
    ready_message(session, app_store, guardian, old_thread, caption="a secret")
    never = factory.child(family.school, family.school_class, name="Lei")
    fake_clock.advance(days=30)
    ready_message(session, app_store, family.guardian, family.thread)
    # A reply from the child does not count as hearing from family.
    ready_message(session, app_store, family.child_user, family.thread)

    url = f"/api/v1/schools/{family.school.id}/quiet-children"
    rows = client.get(url, params={"days": 14}, headers=factory.headers(family.staff)).json()
    assert [r["child_id"] for r in rows] == [str(never.id), str(quiet_for_a_month.id)]
    assert rows[0]["days_quiet"] is None
    assert rows[0]["active_guardians"] == 0
    assert rows[1]["days_quiet"] == 30
    assert rows[1]["class_name"] == "Grade 3"
    assert "a secret" not in str(rows)
    fake_clock.advance(days=timedelta(days=20).days)
    rows = client.get(url, params={"days": 14}, headers=factory.headers(family.staff)).json()
    assert str(family.child.id) in [r["child_id"] for r in rows]
    assert (
        client.get(url, params={"days": 0}, headers=factory.headers(family.staff)).status_code
        == 422
    )
    other = factory.staff(factory.school("Elsewhere"))
    assert client.get(url, headers=factory.headers(other)).status_code == 404


def test_school_thread_is_the_child_and_their_school_only(
    client: TestClient, session: Session, factory: Factory, family: Family, app_store: Any
) -> None:
    school_thread = service.open_thread(session, family.staff, family.child, None)
    note = ready_message(session, app_store, family.staff, school_thread, caption="sports day")
    reply = ready_message(session, app_store, family.child_user, school_thread)
    colleague = factory.staff(family.school, name="Teacher Liu")
    session.commit()  # a refused request rolls back everything not yet committed

    child_inbox = client.get("/api/v1/threads", headers=factory.headers(family.child_user)).json()
    kinds = {t["kind"]: t["unread"] for t in child_inbox["items"]}
    assert kinds == {"school": 1, "family": 0}
    staff_inbox = client.get("/api/v1/threads", headers=factory.headers(colleague)).json()
    assert [(t["id"], t["unread"]) for t in staff_inbox["items"]] == [(str(school_thread.id), 2)]
    url = f"/api/v1/threads/{school_thread.id}/messages"
    listed = client.get(url, headers=factory.headers(colleague)).json()["items"]
    assert [m["id"] for m in listed] == [str(reply.id), str(note.id)]
    assert client.get(url, headers=factory.headers(family.guardian)).status_code == 404
