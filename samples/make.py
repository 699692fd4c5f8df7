"""Writes the sample recordings the README's walk-throughs upload.

    python samples/make.py

They are speech-like, not speech: voiced syllables on a gliding pitch, made by
``voicebridge.audio.speechlike`` (the same generator the tests and the demo
use), so that no voice, microphone or download is needed. ``hello.m4a`` is
what a phone records (AAC in MP4, stereo, 44.1 kHz); ``chapter-1.m4a`` and
``chapter-2.m4a`` are a story's chapters for the import walk-through.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voicebridge.audio.speechlike import make_recording

SAMPLES = {"hello.m4a": (12.0, 7), "chapter-1.m4a": (15.0, 21), "chapter-2.m4a": (10.0, 22)}


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (seconds, seed) in SAMPLES.items():
        make_recording(folder / name, "m4a", seconds, seed=seed)
        print(f"{folder / name}: {seconds:.0f} s")  # noqa: T201


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
