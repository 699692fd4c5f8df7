"""tus into SeaweedFS against a direct boto3 multipart upload of the same bytes.

Run by hand: ``python bench/upload.py [minutes]`` (default 60).

The recording is WAV (PCM 16-bit mono 44.1 kHz, about 318 MB an hour): the
bytes are what is measured, and WAV has the most bytes per minute a phone
might send. The API runs as its own process (uvicorn, SQLite, S3 store);
the tus client is tuspy with 128 MiB chunks (tus-js-client sends one
request by default). The direct upload is boto3's ``upload_file`` with the
server's part size, with boto3's default 10 threads and with one. Runs
alternate, best of two. The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import _path  # noqa: F401  (puts the repository root on sys.path)
from bench._uploads import api, database, env_for, seaweed, tus_upload
from boto3.s3.transfer import TransferConfig
from tests.audio.make import make_recording

from voicebridge.config import UploadSettings

CHUNK = 128 * 1024 * 1024
ROUNDS = 2


def main(minutes: float) -> None:
    with tempfile.TemporaryDirectory(prefix="vb-bench-") as tmp:
        root = Path(tmp)
        recording = make_recording(root / "hour.wav", "wav", minutes * 60)
        size = recording.stat().st_size
        part = UploadSettings().part_bytes
        with seaweed(root / "weed") as server:
            store = server.store("bench-upload")
            store.ensure_ready()
            db_url, headers, secret = database(root)
            env = env_for(
                root,
                db_url,
                secret,
                server,
                "bench-upload",
                VOICEBRIDGE_JOBS__IN_PROCESS_WORKER="false",
            )
            tus_runs: list[float] = []
            direct: dict[int, list[float]] = {10: [], 1: []}
            with api(env) as (_proc, base):
                for _round in range(ROUNDS):
                    start = time.perf_counter()
                    tus_upload(base, headers, recording, CHUNK)
                    tus_runs.append(time.perf_counter() - start)
                    for threads in (10, 1):
                        config = TransferConfig(
                            multipart_threshold=part,
                            multipart_chunksize=part,
                            max_concurrency=threads,
                        )
                        start = time.perf_counter()
                        store.client.upload_file(
                            str(recording),
                            store.bucket,
                            f"direct-{threads}-{_round}.wav",
                            Config=config,
                        )
                        direct[threads].append(time.perf_counter() - start)
        tus_s = min(tus_runs)
        results = {threads: min(runs) for threads, runs in direct.items()}
        mb = size / 1e6
        out = {
            "bytes": size,
            "format": "wav",
            "minutes": minutes,
            "tus_mb_s": round(mb / tus_s, 1),
            "direct_mb_s": round(mb / results[10], 1),
            "direct_1thread_mb_s": round(mb / results[1], 1),
            "ratio": round(results[10] / tus_s, 3),
            "ratio_vs_1thread": round(results[1] / tus_s, 3),
        }
        print(
            f"tus {out['tus_mb_s']} MB/s, boto3 direct {out['direct_mb_s']} MB/s "
            f"(1 thread {out['direct_1thread_mb_s']}), ratio {out['ratio']}"
        )
        print(json.dumps(out))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
