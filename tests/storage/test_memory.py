"""Design invariant 3: storing a long recording costs the same memory as a short one."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tests.storage.test_contract import MiB, write_random
from voicebridge.storage import ObjectStore, new_key

PEAK_LIMIT = 8 * MiB


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "recording.ogg"
    write_random(path, 40 * MiB)
    return path


def traced_peak(action: object) -> int:
    assert callable(action)
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_put_file_streams(store: ObjectStore, big_file: Path) -> None:
    key = new_key("audio", "ogg")

    peak = traced_peak(lambda: store.put_file(key, big_file, "audio/ogg"))

    assert peak < PEAK_LIMIT
    head = store.head(key)
    assert head is not None
    assert head.size == 40 * MiB


def test_upload_part_and_download_stream(
    store: ObjectStore, big_file: Path, tmp_path: Path
) -> None:
    key = new_key("audio", "ogg")
    upload_id = store.create_multipart(key, "audio/ogg")

    peak = traced_peak(lambda: store.upload_part(key, upload_id, 1, big_file, 40 * MiB))
    assert peak < PEAK_LIMIT

    parts = store.list_parts(key, upload_id)
    store.complete_multipart(key, upload_id, parts)
    peak = traced_peak(lambda: store.download_to(key, tmp_path / "copy.ogg"))
    assert peak < PEAK_LIMIT
    assert (tmp_path / "copy.ogg").stat().st_size == 40 * MiB
