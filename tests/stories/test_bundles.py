"""Offline bundles: verify, tamper, incremental export, device sync of missing hashes."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import Role, User
from voicebridge.storage.base import ObjectStore
from voicebridge.stories import boxes, bundles, service
from voicebridge.stories.importer import run_import
from voicebridge.stories.models import Story


def _publish(session: Session, moderator: User, story: Story) -> None:
    service.review(session, moderator, story, True, None)
    service.publish(session, story)


def _setup(session: Session, store: ObjectStore, app: FastAPI, narrator: User, folder: Path):  # type: ignore[no-untyped-def]
    report = run_import(session, store, app.state.settings.audio, narrator, folder)
    moon, fox = (session.get(Story, sid) for sid in report.story_ids)
    assert moon is not None
    assert fox is not None
    moderator = User(role=Role.moderator, display_name="m")
    session.add(moderator)
    session.flush()
    _publish(session, moderator, moon)
    box = boxes.create_box(session, moderator, "Box", "")
    boxes.add_story(session, box, moon)
    return box, moon, fox, moderator


def test_bundle_verifies_detects_tampering_and_exports_increments(
    session: Session,
    store: ObjectStore,
    app: FastAPI,
    narrator: User,
    folder: Path,
    tmp_path: Path,
) -> None:
    box, moon, fox, moderator = _setup(session, store, app, narrator, folder)
    full = tmp_path / "full.zip"
    seen: list[int] = []
    manifest = bundles.export_bundle(session, store, box, full, on_bytes=seen.append)
    assert manifest["version"] == 1
    assert len(manifest["files"]) == 2
    assert sum(seen) == bundles.total_bytes(manifest)
    assert bundles.verify_bundle(full) == []

    raw = bytearray(full.read_bytes())
    with zipfile.ZipFile(full) as zf:
        info = zf.getinfo(manifest["files"][0]["name"])
    raw[info.header_offset + 200] ^= 0x01
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(raw))
    assert bundles.verify_bundle(broken) != []

    _publish(session, moderator, fox)
    boxes.add_story(session, box, fox)
    delta = tmp_path / "delta.zip"
    increment = bundles.export_bundle(session, store, box, delta, since=1)
    assert increment["version"] == 2
    assert [s["id"] for s in increment["stories"]] == [str(fox.id)]
    fox_hashes = set(boxes.story_hashes(session, fox.id))
    with zipfile.ZipFile(delta) as zf:
        audio = {n for n in zf.namelist() if n.startswith("audio/")}
    assert audio == {f"audio/{h}.opus" for h in fox_hashes}
    assert bundles.verify_bundle(delta) == []


def test_device_syncs_only_missing_hashes(
    session: Session,
    app: FastAPI,
    client: TestClient,
    factory: Factory,
    narrator: User,
    folder: Path,
) -> None:
    box, _moon, fox, moderator = _setup(session, app.state.store, app, narrator, folder)
    school = factory.school()
    _, token = factory.device(school)
    other_school = factory.school("Elsewhere")
    _, other_token = factory.device(other_school)
    boxes.assign(session, box, school.id, None)
    _publish(session, moderator, fox)
    boxes.add_story(session, box, fox)
    session.commit()

    url = f"/api/v1/storyboxes/{box.id}/sync"
    assert client.get(f"{url}/manifest", headers={"X-Device-Token": other_token}).status_code == 404
    manifest = client.get(
        f"{url}/manifest", params={"since": 1}, headers={"X-Device-Token": token}
    ).json()
    missing = {f["sha256"] for f in manifest["files"]}
    assert missing == set(boxes.story_hashes(session, fox.id))
    for sha in missing:
        got = client.get(f"{url}/files/{sha}", headers={"X-Device-Token": token})
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == sha
    assert (
        client.get(f"{url}/files/{'0' * 64}", headers={"X-Device-Token": token}).status_code == 404
    )
    full = client.get(f"{url}/manifest", headers={"X-Device-Token": token}).json()
    assert len(full["files"]) == 3
    assert json.dumps(full).count(str(fox.id)) >= 1
