"""Peak memory of one API process receiving (tus) and transcoding a long recording.

Run by hand: ``python bench/memory.py [short_min] [long_min]``
(default 10 and 120).

For each length, a fresh API process (uvicorn, SQLite, local object store,
the in-process job worker on) receives an MP3 (64 kbit/s mono, what an older
phone sends) through tuspy in 8 MiB chunks and transcodes it to Opus; its
peak resident set (VmHWM from /proc) is read once the asset is ready. Design
invariant 3 wants the long one within 10% of the short one and under 200 MB.
The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import _path  # noqa: F401  (puts the repository root on sys.path)
from bench._uploads import api, asset_of, database, env_for, tus_upload, wait_ready
from tests.audio.make import make_recording


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def peak(minutes: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="vb-mem-") as tmp:
        root = Path(tmp)
        recording = make_recording(root / "talk.mp3", "mp3", minutes * 60)
        db_url, headers, secret = database(root)
        env = env_for(
            root,
            db_url,
            secret,
            None,
            "",
            VOICEBRIDGE_JOBS__IN_PROCESS_WORKER="true",
            VOICEBRIDGE_JOBS__POLL_SECONDS="0.2",
            VOICEBRIDGE_UPLOADS__MAX_DURATION_SECONDS=str(int(minutes * 60 * 1.1) + 60),
        )
        with api(env) as (proc, base):
            start = time.perf_counter()
            url = tus_upload(base, headers, recording, 8 * 1024 * 1024)
            wait_ready(db_url, asset_of(base, headers, url), timeout=minutes * 60)
            elapsed = time.perf_counter() - start
            hwm = vm_hwm_mb(proc.pid)
        return {
            "minutes": minutes,
            "bytes": recording.stat().st_size,
            "peak_mb": round(hwm, 1),
            "seconds": round(elapsed, 1),
        }


def main(short: float, long: float) -> None:
    a, b = peak(short), peak(long)
    print(
        f"{short:g} min: {a['peak_mb']} MB peak ({a['seconds']} s); "
        f"{long:g} min: {b['peak_mb']} MB peak ({b['seconds']} s)"
    )
    print(
        json.dumps(
            {
                "format": "mp3",
                "short": a,
                "long": b,
                "ratio": round(b["peak_mb"] / a["peak_mb"], 3),
            }
        )
    )


if __name__ == "__main__":
    args = [float(x) for x in sys.argv[1:3]]
    main(*(args + [10.0, 120.0][len(args) :]))
