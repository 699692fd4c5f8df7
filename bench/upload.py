"""Simultaneous tus uploads into SeaweedFS against direct boto3 multipart uploads.

Run by hand: ``python bench/upload.py`` (1, 4 and 16 simultaneous 60-minute
uploads each way, two rounds: long), or ``python bench/upload.py --quick``
(5-minute recordings, one round: a few minutes).

The recording is WAV (PCM 16-bit mono 44.1 kHz, about 318 MB an hour): the
bytes are what is measured, and WAV has the most bytes per minute a phone
might send. The API runs as its own process (one uvicorn worker, SQLite,
the S3 store on SeaweedFS started as the tests start it, on loopback). Each tus upload is
one POST and one streaming PATCH of the whole file, as tus-js-client sends
by default (``--chunk`` splits it into PATCHes of that many MiB). The direct
upload is boto3's ``upload_file`` with the server's part size, as many
threads per upload as the service keeps parts in flight (4; boto3's default
10 times 16 uploads overran SeaweedFS here with read timeouts; see
``--direct-threads``) and the service's own client settings (no
payload signing: over plain http boto3 would otherwise hash every part
before sending it, which would flatter the ratio). At each concurrency the two alternate, the
order swapping every round, and the best of the rounds counts (the machine
is shared). Aggregate MB/s is all bytes over the wall time from the first
start to the last finish. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _path  # noqa: F401  (puts the repository root on sys.path)
import httpx
from bench._uploads import api, database, env_for, seaweed
from boto3.s3.transfer import TransferConfig
from tests.audio.make import make_recording
from tests.uploads.conftest import metadata_header

from voicebridge.config import UploadSettings
from voicebridge.storage.s3 import S3ObjectStore

AIMS = {1: 0.8, 16: 0.9}
READ = 1024 * 1024


def _body(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        left = end - start
        while left:
            chunk = fh.read(min(READ, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def tus_one(base: str, headers: dict[str, str], path: Path, chunk: int) -> None:
    size = path.stat().st_size
    tus = {**headers, "Tus-Resumable": "1.0.0"}
    with httpx.Client(timeout=600) as client:
        created = client.post(
            f"{base}/api/v1/uploads",
            headers={
                **tus,
                "Upload-Length": str(size),
                "Upload-Metadata": metadata_header(purpose="test", filename=path.name),
            },
        )
        created.raise_for_status()
        location = created.headers["Location"]
        offset = 0
        while offset < size:
            end = size if chunk <= 0 else min(size, offset + chunk)
            sent = client.patch(
                location,
                content=_body(path, offset, end),
                headers={
                    **tus,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                },
            )
            sent.raise_for_status()
            offset = int(sent.headers["Upload-Offset"])


def run_parallel(count: int, one: Callable[[int], None]) -> float:
    with ThreadPoolExecutor(count) as pool:
        start = time.perf_counter()
        for future in [pool.submit(one, i) for i in range(count)]:
            future.result()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="recording length")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated counts")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per count")
    parser.add_argument("--chunk", type=int, default=0, help="MiB per PATCH (0: one PATCH)")
    parser.add_argument(
        "--direct-threads",
        type=int,
        default=UploadSettings().parts_in_flight,
        help="boto3 threads per direct upload (default: the service's parts in flight)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="5-minute recordings, one round (a few minutes)"
    )
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.rounds = min(args.minutes, 5.0), 1
    counts = [int(c) for c in args.concurrency.split(",")]

    with tempfile.TemporaryDirectory(prefix="vb-bench-") as tmp:
        root = Path(tmp)
        recording = make_recording(root / "recording.wav", "wav", args.minutes * 60)
        size = recording.stat().st_size
        part = UploadSettings().part_bytes
        with seaweed(root / "weed") as server:
            store = server.store("bench-upload")
            store.ensure_ready()
            # The same client settings as the service's own store, with connections
            # for every thread of every simultaneous upload.
            direct_client = S3ObjectStore(
                endpoint_url=server.endpoint_url,
                region=server.region,
                bucket=store.bucket,
                access_key_id=server.access_key_id,
                secret_access_key=server.secret_access_key,
                max_pool_connections=max(counts) * args.direct_threads,
            ).client
            transfer = TransferConfig(
                multipart_threshold=part,
                multipart_chunksize=part,
                max_concurrency=args.direct_threads,
            )
            db_url, headers, secret = database(root)
            env = env_for(
                root,
                db_url,
                secret,
                server,
                "bench-upload",
                VOICEBRIDGE_JOBS__IN_PROCESS_WORKER="false",
                VOICEBRIDGE_UPLOADS__MAX_BYTES=str(2 * size + 1),
            )

            def empty_bucket() -> None:
                for key in list(store.list_keys("")):
                    store.delete(key)

            results = []
            load_before = os.getloadavg()
            with api(env) as (_proc, base):

                def tus(count: int) -> float:
                    return run_parallel(
                        count, lambda _i: tus_one(base, headers, recording, args.chunk << 20)
                    )

                def direct(count: int) -> float:
                    return run_parallel(
                        count,
                        lambda i: direct_client.upload_file(
                            str(recording),
                            store.bucket,
                            f"direct/{count}-{i}-{time.monotonic_ns()}.wav",
                            Config=transfer,
                        ),
                    )

                # The first request of a fresh server imports and connects lazily.
                tus(1)
                direct(1)
                empty_bucket()
                for count in counts:
                    runs: dict[str, list[float]] = {"tus": [], "direct": []}
                    for round_ in range(args.rounds):
                        order = (tus, direct) if round_ % 2 == 0 else (direct, tus)
                        for one in order:
                            runs[one.__name__].append(one(count))
                            empty_bucket()
                    tus_runs, direct_runs = runs["tus"], runs["direct"]
                    mb = count * size / 1e6
                    tus_mb_s = mb / min(tus_runs)
                    direct_mb_s = mb / min(direct_runs)
                    results.append(
                        {
                            "concurrency": count,
                            "tus_mb_s": round(tus_mb_s, 1),
                            "direct_mb_s": round(direct_mb_s, 1),
                            "ratio": round(tus_mb_s / direct_mb_s, 3),
                            "tus_s": [round(s, 2) for s in tus_runs],
                            "direct_s": [round(s, 2) for s in direct_runs],
                        }
                    )
                    print(
                        f"{count} at once: tus {tus_mb_s:.1f} MB/s, "
                        f"boto3 direct {direct_mb_s:.1f} MB/s, ratio {tus_mb_s / direct_mb_s:.3f}",
                        flush=True,
                    )
        out = {
            "bytes_per_upload": size,
            "format": "wav",
            "minutes": args.minutes,
            "rounds": args.rounds,
            "part_bytes": part,
            "parts_in_flight": UploadSettings().parts_in_flight,
            "patch_mib": args.chunk or None,
            "direct_threads_per_upload": args.direct_threads,
            "cpus": os.cpu_count(),
            "load_avg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "results": results,
            "ratios": {str(r["concurrency"]): r["ratio"] for r in results},
            "aims": {str(k): v for k, v in AIMS.items()},
        }
        print(json.dumps(out))


if __name__ == "__main__":
    main()
