"""Our transcode against the ffmpeg command line: one file, then N files on N cores.

Run by hand: ``python bench/transcode.py [--minutes 60] [--runs 5] [--pool-runs 3]``.

The input is what a parent's Android phone sends: M4A/AAC, stereo 44.1 kHz,
moov at the end. Ours runs the way the worker runs it, in a child process of
the transcode pool (``audio/pool.py``), so fork and result hand-over are
counted. ffmpeg gets the same work (downmix, resample, EBU R128 measurement,
libopus 24 kbit/s constrained VBR at the same application and complexity).

1. Single file: ours and ffmpeg alternate ``--runs`` times; the ratio is
   ffmpeg's median wall time over ours (above 1: ours is faster).
2. Throughput: N copies of the file (N = the cores this process may use) go
   through a pool of N children at once, against N ffmpeg processes started
   at once; alternating ``--pool-runs`` times, the ratio of the medians again.

The machine may be shared: the runs alternate so that both sides see the
same load, and the per-pair ratios are printed. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import _path  # noqa: F401  (puts the repository root on sys.path)
import imageio_ffmpeg
from tests.audio.make import make_recording

from voicebridge.audio.pool import ChildReport, TranscodePool
from voicebridge.audio.transcode import APPLICATION, COMPRESSION_LEVEL


def ffmpeg_cmd(src: Path, dst: Path) -> list[str]:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(src)]
    cmd += ["-af", "ebur128=metadata=1", "-ac", "1", "-ar", "48000"]
    cmd += ["-c:a", "libopus", "-b:a", "24k", "-vbr", "constrained"]
    cmd += ["-application", APPLICATION, "-compression_level", str(COMPRESSION_LEVEL)]
    return [*cmd, str(dst)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ffmpeg(pairs: list[tuple[Path, Path]]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the ffmpeg processes."""
    cpu = _children_cpu()
    started = time.perf_counter()
    procs = [subprocess.Popen(ffmpeg_cmd(src, dst)) for src, dst in pairs]
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed: {proc.args}")
    return time.perf_counter() - started, _children_cpu() - cpu


def run_ours(
    pool: TranscodePool, pairs: list[tuple[Path, Path]]
) -> tuple[float, list[ChildReport]]:
    reports: list[ChildReport] = []
    errors: list[BaseException] = []

    def one(src: Path, dst: Path) -> None:
        try:
            reports.append(pool.run(src, dst))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, reports


def compare(
    label: str, pool: TranscodePool, pairs: list[tuple[Path, Path]], runs: int, seconds: float
) -> tuple[dict[str, object], list[ChildReport]]:
    ours: list[float] = []
    theirs: list[float] = []
    ours_cpu: list[float] = []
    theirs_cpu: list[float] = []
    reports: list[ChildReport] = []
    for n in range(runs):
        # Alternate who goes first, so neither side always meets the same neighbours.
        order = ("ours", "ffmpeg") if n % 2 == 0 else ("ffmpeg", "ours")
        for side in order:
            if side == "ours":
                elapsed, done = run_ours(pool, pairs)
                ours.append(elapsed)
                ours_cpu.append(sum(r.cpu_seconds for r in done))
                reports += done
            else:
                elapsed, cpu = run_ffmpeg(pairs)
                theirs.append(elapsed)
                theirs_cpu.append(cpu)
        print(
            f"{label} run {n + 1}: ours {ours[-1]:6.1f} s, ffmpeg {theirs[-1]:6.1f} s, "
            f"ratio {theirs[-1] / ours[-1]:.2f}  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    audio = seconds * len(pairs)
    return {
        "files": len(pairs),
        "ours_s": [round(x, 2) for x in ours],
        "ffmpeg_s": [round(x, 2) for x in theirs],
        "ours_median_s": round(ours_median, 2),
        "ffmpeg_median_s": round(theirs_median, 2),
        "ours_x_realtime": round(audio / ours_median, 1),
        "ffmpeg_x_realtime": round(audio / theirs_median, 1),
        "ratio": round(theirs_median / ours_median, 3),
        "pair_ratios": [round(b / a, 3) for a, b in zip(ours, theirs, strict=True)],
        # CPU seconds, the cost on a machine that is busy anyway: above 1, ours is cheaper.
        "ours_cpu_median_s": round(statistics.median(ours_cpu), 2),
        "ffmpeg_cpu_median_s": round(statistics.median(theirs_cpu), 2),
        "cpu_ratio": round(statistics.median(theirs_cpu) / statistics.median(ours_cpu), 3),
    }, reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=5, help="single-file runs per side")
    parser.add_argument("--pool-runs", type=int, default=3, help="N-file runs per side")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        src = make_recording(folder / "phone.m4a", "m4a", seconds)
        made = time.perf_counter() - t
        print(f"made {args.minutes:g} min M4A/AAC stereo 44.1 kHz in {made:.1f} s")
        pool = TranscodePool(args.cores)
        # Starts the forkserver (imports PyAV once), as a worker's first transcode does.
        warm = make_recording(folder / "warm.m4a", "m4a", 2)
        pool.run(warm, folder / "warm.ogg")

        single, reports = compare("single", pool, [(src, folder / "ours.ogg")], args.runs, seconds)
        check = reports[0].result
        assert abs(check.duration_ms - seconds * 1000) < seconds  # within 0.1 %
        sources = [src] + [folder / f"copy{i}.m4a" for i in range(1, args.cores)]
        for copy in sources[1:]:
            os.link(src, copy)
        pairs = [(s, folder / f"out{i}.ogg") for i, s in enumerate(sources)]
        throughput, more = compare("pool", pool, pairs, args.pool_runs, seconds)
        rss = max(r.peak_rss_kb for r in reports + more) / 1024
        print(
            json.dumps(
                {
                    "input_minutes": args.minutes,
                    "cores": args.cores,
                    "single": single,
                    "throughput": throughput,
                    "child_peak_rss_mb": round(rss, 1),
                    "loudness_lufs": check.loudness_lufs,
                    "duration_ms": check.duration_ms,
                }
            )
        )


if __name__ == "__main__":
    main()
