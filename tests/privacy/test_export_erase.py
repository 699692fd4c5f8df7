"""A guardian's export holds every message they sent and received (checked by listening:
the decoded durations match), and an erased guardian leaves nothing behind while the
child's other family thread is untouched."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import av
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import Factory
from tests.privacy.conftest import World, exists, keys_of, run_jobs, say
from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.clock import FakeClock
from voicebridge.config import Settings
from voicebridge.families.models import Consent, GuardianLink
from voicebridge.messages.models import Message, Thread
from voicebridge.privacy.models import DataExport, ExportState
from voicebridge.storage.s3 import S3ObjectStore


def _decoded_ms(data: bytes) -> int:
    """Plays the file through the decoder and counts the samples that come out."""
    samples, rate = 0, 48_000
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            samples += frame.samples
            rate = frame.sample_rate
    return round(samples * 1000 / rate)


def test_export_holds_every_message_sent_and_received(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    fake_clock: FakeClock,
    client: TestClient,
    factory: Factory,
    tmp_path: Path,
) -> None:
    sent = [
        say(session, s3_store, world.mother, world.mother_thread, 2.0),
        say(session, s3_store, world.child_user, world.mother_thread, 3.0),
        say(session, s3_store, world.mother, world.mother_thread, 4.0),
    ]
    say(session, s3_store, world.father, world.father_thread, 2.0)  # not hers
    headers = factory.headers(world.mother)
    started = client.post("/api/v1/me/exports", headers=headers)
    assert started.status_code == 202, started.text
    export_id = uuid.UUID(started.json()["id"])
    app_store = client.app.state.store  # type: ignore[attr-defined]
    client.app.state.store = s3_store  # type: ignore[attr-defined]
    try:
        early = client.get(f"/api/v1/me/exports/{export_id}/download", headers=headers)
        assert early.status_code == 409
        run_jobs(session, settings, s3_store)
        status = client.get(f"/api/v1/me/exports/{export_id}", headers=headers).json()
        assert status["state"] == "ready"
        assert status["messages"] == 3
        link = client.get(
            f"/api/v1/me/exports/{export_id}/download", headers=headers, follow_redirects=False
        )
        assert link.status_code == 307
        foreign = client.get(
            f"/api/v1/me/exports/{export_id}/download", headers=factory.headers(world.father)
        )
        assert foreign.status_code == 404
    finally:
        client.app.state.store = app_store  # type: ignore[attr-defined]

    export = session.get(DataExport, export_id, populate_existing=True)
    assert export is not None
    assert export.object_key is not None
    zipped = tmp_path / "export.zip"
    s3_store.download_to(export.object_key, zipped)
    with zipfile.ZipFile(zipped) as zf:
        account = json.loads(zf.read("account.json"))
        assert account["login"] == world.mother.login
        children = json.loads(zf.read("children.json"))
        assert [c["child_id"] for c in children] == [str(world.child.id)]
        assert children[0]["consents"][0]["retention_days"] == 30
        listed = json.loads(zf.read(f"conversations/{world.child.id}/messages.json"))
        assert {m["id"] for m in listed} == {str(m.id) for m in sent}
        assert sorted(m["direction"] for m in listed) == ["received", "sent", "sent"]
        for entry in listed:
            heard = _decoded_ms(zf.read(f"conversations/{world.child.id}/{entry['file']}"))
            assert abs(heard - entry["duration_ms"]) <= 100, (heard, entry)
        assert sorted(round(m["duration_ms"] / 1000) for m in listed) == [2, 3, 4]

    # The link works for a while, then the export is gone from the bucket.
    fake_clock.advance(hours=settings.privacy.export_link_hours + 2)
    run_jobs(session, settings, s3_store)
    assert s3_store.head(export.object_key) is None
    expired = session.get(DataExport, export_id, populate_existing=True)
    assert expired is not None
    assert expired.state is ExportState.expired
    gone = client.get(
        f"/api/v1/me/exports/{export_id}/download", headers=factory.headers(world.mother)
    )
    assert gone.status_code == 410


def test_erased_guardian_leaves_nothing_and_the_other_family_thread_stays(
    session: Session,
    world: World,
    s3_store: S3ObjectStore,
    settings: Settings,
    client: TestClient,
    factory: Factory,
) -> None:
    hers = [
        say(session, s3_store, world.mother, world.mother_thread),
        say(session, s3_store, world.child_user, world.mother_thread),
    ]
    his = [
        say(session, s3_store, world.father, world.father_thread),
        say(session, s3_store, world.child_user, world.father_thread),
    ]
    her_keys = [k for m in hers for k in keys_of(session, m)]
    his_keys = [k for m in his for k in keys_of(session, m)]
    # A refused request below rolls back and expires what the session holds: keep ids.
    her_ids = [(m.id, m.asset_id) for m in hers]
    his_ids = [m.id for m in his]
    mother_id, thread_id, link_id = world.mother.id, world.mother_thread.id, world.mother_link.id
    father_link_id = world.father_link.id
    headers = factory.headers(world.mother)
    refused = client.post("/api/v1/me/erasure", headers=headers, json={"confirm": False})
    assert refused.status_code == 422
    response = client.post("/api/v1/me/erasure", headers=headers, json={"confirm": True})
    assert response.status_code == 202, response.text
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    run_jobs(session, settings, s3_store)

    assert not any(exists(session, Message, m) for m, _ in her_ids)
    assert not any(exists(session, AudioAsset, a) for _, a in her_ids)
    assert all(s3_store.head(k) is None for k in her_keys)
    assert not exists(session, Thread, thread_id)
    assert not exists(session, GuardianLink, link_id)
    assert not session.exec(select(Consent).where(Consent.guardian_id == mother_id)).all()
    user = session.get(User, mother_id, populate_existing=True)
    assert user is not None
    assert user.login is None
    assert user.display_name == ""
    assert user.password_hash is None

    assert all(exists(session, Message, m) for m in his_ids)
    assert all(s3_store.head(k) is not None for k in his_keys)
    assert exists(session, GuardianLink, father_link_id)
