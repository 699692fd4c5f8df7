"""`voicebridge verify`: finds every kind of mismatch between rows and objects, on both
stores and both databases, and passes a store that is whole."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.factories import Factory
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads import service
from voicebridge.uploads.models import Upload
from voicebridge.uploads.verify import verify

LATER = timedelta(hours=2)


def _asset(session: Session, store: ObjectStore, owner: uuid.UUID) -> AudioAsset:
    original, playable = b"o" * 3000 + uuid.uuid4().bytes, b"OggS" + uuid.uuid4().bytes * 50
    o = store.put_bytes(service.new_key(service.ORIGINAL_PREFIX, "bin"), original, "audio/mp4")
    p = store.put_bytes(service.new_key(service.PLAYABLE_PREFIX, "opus"), playable, "audio/ogg")
    asset = AudioAsset(
        owner_id=owner,
        purpose="message",
        state=AssetState.ready,
        original_key=o.key,
        original_size=len(original),
        original_sha256=hashlib.sha256(original).hexdigest(),
        playable_key=p.key,
        playable_size=len(playable),
        playable_sha256=hashlib.sha256(playable).hexdigest(),
    )
    session.add(asset)
    session.commit()
    return asset


def test_verify_finds_each_kind_of_damage(
    committed_engine: Engine, store: ObjectStore, tmp_path: Path
) -> None:
    with Session(committed_engine, expire_on_commit=False) as session:
        owner = Factory(session, make_settings(tmp_path)).user(Role.guardian)
        session.commit()
        assets = [_asset(session, store, owner.id) for _ in range(3)]
        # An upload in progress: its multipart upload exists, its object not yet.
        key = service.new_key(service.ORIGINAL_PREFIX, "bin")
        session.add(
            Upload(
                owner_id=owner.id,
                asset_id=assets[0].id,
                purpose="message",
                length=10,
                object_key=key,
                multipart_id=store.create_multipart(key, "application/octet-stream"),
                expires_at=clock.now() + timedelta(hours=1),
            )
        )
        session.commit()

    whole = verify(committed_engine, store, deep=True, now=clock.now() + LATER)
    assert whole.ok, whole.summary()
    assert (whole.objects, whole.references, whole.hashed, whole.open_uploads) == (6, 7, 6, 1)

    # An object no row knows: fine while young (its row may not be committed yet).
    stray = store.put_bytes(service.new_key(service.PLAYABLE_PREFIX, "opus"), b"x" * 10, "a/b")
    assert verify(committed_engine, store).ok
    # One of each kind of damage.
    store.delete(assets[0].playable_key or "")
    assert assets[1].original_key is not None
    store.delete(assets[1].original_key)
    store.put_bytes(assets[1].original_key, b"z" * (assets[1].original_size or 0), "audio/mp4")
    with Session(committed_engine) as session:
        row = session.get(AudioAsset, assets[2].id)
        assert row is not None
        row.playable_size = 1
        session.add(row)
        session.commit()

    damaged = verify(committed_engine, store, deep=True, now=clock.now() + LATER)
    assert not damaged.ok
    found = {(f.kind, f.key) for f in damaged.problems}
    assert found == {
        ("missing-object", assets[0].playable_key),
        ("checksum-mismatch", assets[1].original_key),
        ("size-mismatch", assets[2].playable_key),
        ("orphan-object", stray.key),
    }
    # Without --deep a same-size replacement goes unseen; the rest does not.
    assert verify(committed_engine, store, now=clock.now() + LATER).problem_count == 3


def test_the_command_exits_non_zero_and_says_why(
    committed_url: str, store: ObjectStore, tmp_path: Path
) -> None:
    from voicebridge import cli
    from voicebridge.storage.local import LocalObjectStore

    if not isinstance(store, LocalObjectStore):
        return  # the command's output does not depend on the store; one run is enough
    runner = CliRunner()
    env = {
        "VOICEBRIDGE_DATABASE_URL": committed_url,
        "VOICEBRIDGE_DATA_DIR": str(tmp_path),
        "VOICEBRIDGE_STORAGE__LOCAL_PATH": str(store.root),
    }
    cli.get_settings.cache_clear()
    try:
        ok = runner.invoke(cli.app, ["verify", "--json"], env=env)
        assert ok.exit_code == 0, ok.output
        assert '"ok": true' in ok.output
        store.put_bytes("audio/2020/01/01/000000-" + "a" * 32 + ".opus", b"x", "a/b")
        bad = runner.invoke(cli.app, ["verify", "--grace-minutes", "0"], env=env)
        assert bad.exit_code == 1
        assert "PROBLEM orphan-object" in bad.output
    finally:
        cli.get_settings.cache_clear()
