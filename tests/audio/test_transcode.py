"""Transcoding real recordings in every format that phones and browsers send."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

import av
import pytest

from tests.audio.make import SPECS, make_recording
from voicebridge.audio.errors import (
    AudioTooLong,
    CorruptAudio,
    EmptyAudio,
    InvalidAudio,
    NotAudio,
)
from voicebridge.audio.probe import probe
from voicebridge.audio.transcode import transcode

SECONDS = 6.0


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rec")
    return {fmt: make_recording(folder / f"in-{fmt}.{fmt}", fmt, SECONDS) for fmt in SPECS}


def decoded_seconds(path: Path) -> float:
    """Decode the whole file strictly: any damaged packet fails the test."""
    with av.open(str(path)) as container:
        return sum(f.samples / f.sample_rate for f in container.decode(audio=0))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("out") or ".part" in p.name)


@pytest.mark.parametrize("fmt", sorted(SPECS))
def test_every_format_becomes_mono_48k_opus(
    fmt: str, recordings: dict[str, Path], tmp_path: Path
) -> None:
    dst = tmp_path / "out.ogg"
    result = transcode(recordings[fmt], dst)

    out = probe(dst)
    assert (out.format_name, out.codec, out.sample_rate, out.channels) == ("ogg", "opus", 48000, 1)
    assert abs(result.duration_ms - SECONDS * 1000) <= SECONDS * 5
    assert abs(decoded_seconds(dst) - SECONDS) <= SECONDS * 0.005
    kbits = result.size_bytes * 8 / SECONDS / 1000
    assert 16 < kbits < 32
    assert result.size_bytes == dst.stat().st_size
    assert result.sha256 == hashlib.sha256(dst.read_bytes()).hexdigest()
    assert result.source.codec == probe(recordings[fmt]).codec
    assert result.skipped_packets == 0
    assert leftovers(tmp_path) == ["out.ogg"]


def test_waveform_has_the_requested_peaks_and_shows_pauses(
    recordings: dict[str, Path], tmp_path: Path
) -> None:
    result = transcode(recordings["wav"], tmp_path / "out.ogg", peaks=120)

    assert len(result.peaks) == 120
    assert all(0.0 <= p <= 1.0 for p in result.peaks)
    assert max(result.peaks) > 0.5
    # The speech has pauses between phrases: some buckets are near silent.
    assert min(result.peaks) < 0.05


def test_waveform_folds_when_the_duration_was_unknown(tmp_path: Path) -> None:
    import numpy as np

    from voicebridge.audio.levels import Peaks

    peaks = Peaks(10, expected_samples=None)
    for i in range(2000):
        peaks.add(np.full(480, (i % 100) / 100.0))
    values = peaks.result()
    assert len(values) == 10
    assert max(values) == pytest.approx(0.99)


def test_loudness_is_measured_and_a_quiet_voice_is_lifted(tmp_path: Path) -> None:
    quiet = make_recording(tmp_path / "quiet.wav", "wav", 20.0, kind="quiet")
    first = transcode(quiet, tmp_path / "out.ogg", target_lufs=-16.0)

    assert first.loudness_lufs is not None
    assert -38 < first.loudness_lufs < -32
    assert first.gain_db > 12
    again = transcode(tmp_path / "out.ogg", tmp_path / "out2.ogg")
    assert again.loudness_lufs is not None
    assert abs(again.loudness_lufs - -16.0) < 3.0
    # Already at the target: the second pass leaves the level alone.
    assert abs(again.gain_db) < 3.0


def test_a_picture_renamed_mp3_is_not_audio(tmp_path: Path) -> None:
    src = tmp_path / "photo.mp3"
    src.write_bytes(_tiny_png())
    with pytest.raises(NotAudio):
        probe(src)
    with pytest.raises(NotAudio):
        transcode(src, tmp_path / "out.ogg")
    assert leftovers(tmp_path) == []


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "noise.m4a"
    src.write_bytes(os.urandom(50_000))
    with pytest.raises((NotAudio, CorruptAudio)):
        transcode(src, tmp_path / "out.ogg")
    assert leftovers(tmp_path) == []


def test_an_empty_file_is_empty(tmp_path: Path) -> None:
    src = tmp_path / "empty.webm"
    src.touch()
    with pytest.raises(EmptyAudio) as err:
        transcode(src, tmp_path / "out.ogg")
    assert err.value.status == 422
    assert err.value.slug == "empty-audio"


def test_a_blip_is_empty(tmp_path: Path) -> None:
    src = make_recording(tmp_path / "blip.wav", "wav", 0.2)
    with pytest.raises(EmptyAudio):
        transcode(src, tmp_path / "out.ogg")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["mp3", "webm"])
def test_an_upload_cut_in_half_is_corrupt(
    fmt: str, recordings: dict[str, Path], tmp_path: Path
) -> None:
    data = recordings[fmt].read_bytes()
    src = tmp_path / f"cut.{fmt}"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptAudio):
        transcode(src, tmp_path / "out.ogg")
    assert leftovers(tmp_path) == []


def test_damage_in_the_middle_of_an_mp3_is_skipped(tmp_path: Path) -> None:
    src = make_recording(tmp_path / "long.mp3", "mp3", 30.0)
    data = bytearray(src.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = os.urandom(3000)
    src.write_bytes(bytes(data))

    result = transcode(src, tmp_path / "out.ogg")

    assert result.duration_ms > 27_000
    assert decoded_seconds(tmp_path / "out.ogg") > 27.0


def test_too_long_by_its_header_is_refused_before_decoding(
    recordings: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(AudioTooLong) as err:
        transcode(recordings["m4a"], tmp_path / "out.ogg", max_duration_s=3.0)
    assert err.value.slug == "audio-too-long"
    assert leftovers(tmp_path) == []


def test_too_long_is_caught_while_decoding(recordings: dict[str, Path], tmp_path: Path) -> None:
    # Within the header check's margin, so only the decoded length can catch it.
    with pytest.raises(AudioTooLong):
        transcode(recordings["wav"], tmp_path / "out.ogg", max_duration_s=SECONDS - 0.05)
    assert leftovers(tmp_path) == []


def test_errors_share_the_invalid_audio_problem_shape() -> None:
    for cls in (NotAudio, CorruptAudio, EmptyAudio, AudioTooLong):
        assert issubclass(cls, InvalidAudio)
        assert cls.status == 422
    slugs = {c.slug for c in (InvalidAudio, NotAudio, CorruptAudio, EmptyAudio, AudioTooLong)}
    assert len(slugs) == 5


def _tiny_png() -> bytes:
    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\xff\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
