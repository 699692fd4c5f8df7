"""Our transcode against the ffmpeg command line on a 60-minute phone recording.

Run by hand: ``python bench/transcode.py [minutes]``.

The input is what a parent's Android phone sends: M4A/AAC, stereo 44.1 kHz,
moov at the end. ffmpeg gets the same work as ours (downmix, resample,
EBU R128 measurement, libopus 24 kbit/s constrained VBR at the same
application and complexity); its default settings are timed once as well.
Runs alternate, best of two. The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _path  # noqa: F401  (puts the repository root on sys.path)
import imageio_ffmpeg
from tests.audio.make import make_recording

from voicebridge.audio.transcode import APPLICATION, COMPRESSION_LEVEL

ROOT = Path(__file__).resolve().parents[1]
OURS = """
import resource, sys, time
from pathlib import Path
from voicebridge.audio.transcode import transcode
t = time.perf_counter()
result = transcode(Path(sys.argv[1]), Path(sys.argv[2]))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      result.duration_ms, result.size_bytes)
"""


def run_ours(src: Path, dst: Path) -> tuple[float, float, int, int]:
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", OURS, str(src), str(dst)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2]), int(out[3])


def run_ffmpeg(src: Path, dst: Path, *, same_settings: bool = True) -> float:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(src)]
    cmd += ["-af", "ebur128=metadata=1", "-ac", "1", "-ar", "48000"]
    cmd += ["-c:a", "libopus", "-b:a", "24k"]
    if same_settings:
        cmd += ["-vbr", "constrained", "-application", APPLICATION]
        cmd += ["-compression_level", str(COMPRESSION_LEVEL)]
    cmd.append(str(dst))
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    seconds = minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        src = make_recording(folder / "phone.m4a", "m4a", seconds)
        print(f"made {minutes:g} min M4A/AAC stereo 44.1 kHz in {time.perf_counter() - t:.1f} s")
        ours: list[float] = []
        theirs: list[float] = []
        rss = 0.0
        for _ in range(2):
            elapsed, rss_mb, duration_ms, size = run_ours(src, folder / "ours.ogg")
            ours.append(elapsed)
            rss = max(rss, rss_mb)
            print(f"ours:   {elapsed:6.1f} s  peak RSS {rss_mb:.0f} MB  {size / 1e6:.1f} MB out")
            theirs.append(run_ffmpeg(src, folder / "ffmpeg.ogg"))
            print(f"ffmpeg: {theirs[-1]:6.1f} s (same settings)")
        default = run_ffmpeg(src, folder / "ffmpeg-default.ogg", same_settings=False)
        print(f"ffmpeg: {default:6.1f} s (libopus defaults: complexity 10, unconstrained VBR)")
        assert abs(duration_ms - seconds * 1000) < seconds  # within 0.1 %
        ours_x = seconds / min(ours)
        ffmpeg_x = seconds / min(theirs)
        print(f"best: ours {ours_x:.0f}x realtime, ffmpeg {ffmpeg_x:.0f}x realtime")
        print(
            json.dumps(
                {
                    "input_minutes": minutes,
                    "ours_x_realtime": round(ours_x, 1),
                    "ffmpeg_x_realtime": round(ffmpeg_x, 1),
                    "ratio": round(ours_x / ffmpeg_x, 3),
                    "ours_peak_rss_mb": round(rss, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
