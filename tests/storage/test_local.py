"""What only the local-directory store does: readiness of its directory and crash-safe layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voicebridge.config import StorageSettings
from voicebridge.storage import StoreUnavailable, new_key
from voicebridge.storage.factory import make_store
from voicebridge.storage.local import LocalObjectStore


def test_check_reports_a_missing_root(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "absent", create=False)

    with pytest.raises(StoreUnavailable):
        store.check()
    with pytest.raises(StoreUnavailable):
        store.ensure_ready()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only directories")
def test_check_reports_a_read_only_root(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.ensure_ready()
    (tmp_path / "objects" / ".tmp").chmod(0o500)
    try:
        with pytest.raises(StoreUnavailable):
            store.check()
    finally:
        (tmp_path / "objects" / ".tmp").chmod(0o700)


def test_check_reports_a_root_that_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    root.write_bytes(b"not a directory")

    with pytest.raises(StoreUnavailable):
        LocalObjectStore(root, create=False).check()


def test_bookkeeping_stays_out_of_listings(local_store: LocalObjectStore, tmp_path: Path) -> None:
    key = new_key("audio", "ogg")
    local_store.put_bytes(key, b"voice", "audio/ogg")
    local_store.create_multipart(new_key("audio", "ogg"), "audio/ogg")

    assert list(local_store.list_keys("")) == [key]
    assert list((local_store.root / ".tmp").iterdir()) == []


def test_symlink_out_of_root_is_refused(local_store: LocalObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (local_store.root / "audio").symlink_to(outside)

    with pytest.raises(ValueError, match="outside"):
        local_store.put_bytes("audio/x.ogg", b"voice", "audio/ogg")
    assert list(outside.iterdir()) == []


def test_factory_builds_a_local_store(tmp_path: Path) -> None:
    store = make_store(StorageSettings(backend="local", local_path=tmp_path / "objects"))

    store.ensure_ready()

    assert isinstance(store, LocalObjectStore)
    assert store.presigned_get_url(new_key("audio", "ogg"), 60) is None
