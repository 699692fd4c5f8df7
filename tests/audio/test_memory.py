"""A long recording must cost what a short one costs (design invariant 3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.audio.make import make_recording

ROOT = Path(__file__).resolve().parents[2]
MEASURE = """
import resource, sys
from pathlib import Path
from voicebridge.audio.transcode import transcode
result = transcode(Path(sys.argv[1]), Path(sys.argv[2]))
print(result.duration_ms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kb(src: Path, dst: Path) -> tuple[int, int]:
    """Transcode in a fresh interpreter so earlier tests don't inflate its peak."""
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(src), str(dst)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=300,
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_twenty_minutes_use_the_memory_of_two(tmp_path: Path) -> None:
    short = make_recording(tmp_path / "short.wav", "wav", 120)
    long = make_recording(tmp_path / "long.wav", "wav", 1200)

    short_ms, short_kb = peak_rss_kb(short, tmp_path / "short.ogg")
    long_ms, long_kb = peak_rss_kb(long, tmp_path / "long.ogg")

    assert (short_ms, long_ms) == (120_000, 1_200_000)
    # The long input is 100 MB of PCM; holding even a tenth of it would show.
    assert long_kb <= short_kb * 1.15, (short_kb, long_kb)
