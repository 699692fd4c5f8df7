"""The evening listening hour against a seeded database (``bench/seed.py`` first).

Run by hand: ``python bench/load.py [--users 200] [--seconds 60] [--workers 2]``.

Starts ``voicebridge serve --workers N`` over the seeded database (no
in-process job worker, as in production; a local object store, or SeaweedFS
with ``--s3``), then for the same
time and the same number of concurrent users: first ``/healthz`` alone (what
the server and this client can do at all on this machine), then the mix.
Each virtual user is a child (70 %), a guardian (25 %) or staff (5 %) and
loops over what they do in the hour, with a think time between requests:

* child: inbox, a thread's first page, a deep page (following the cursor),
  the audio (a 16 KiB range; a 307 to a presigned URL on S3), progress;
* guardian: inbox, a thread's first page, the receipt of a sent message;
* staff: the school inbox and the quiet-children report.

``--base-url`` tests a server already running instead (its secret must be
the one in the tokens file). The client runs in this process (asyncio and
httpx), so on a small machine it competes with the server: compare with the
``/healthz`` figures taken the same way, not with other machines. The last
line printed is one JSON object: req/s and p50/p95/p99 (ms) per route, the
statuses seen, and the ratio of the mix's req/s to /healthz's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (puts the repository root on sys.path)
import httpx
from bench._uploads import ROOT, env_for, seaweed
from seed import PLAYABLE_KEY, PLAYABLE_SIZE
from tests.uploads.live import free_port

from voicebridge.storage.base import ObjectStore
from voicebridge.storage.local import LocalObjectStore

Record = Callable[[str, float, int], None]
ROLES = {"child": 0.70, "guardian": 0.25, "staff": 0.05}


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def record(self, route: str, seconds: float, status: int) -> None:
        self.latency[route].append(seconds)
        self.statuses[route][status] += 1

    def summary(self, seconds: float) -> dict[str, Any]:
        routes = {}
        for route, values in sorted(self.latency.items()):
            routes[route] = {
                "n": len(values),
                "req_s": round(len(values) / seconds, 1),
                **_percentiles(values),
                "statuses": {str(k): v for k, v in sorted(self.statuses[route].items())},
            }
        every = [v for values in self.latency.values() for v in values]
        failed = sum(n for c in self.statuses.values() for status, n in c.items() if status >= 500)
        return {
            "req_s": round(len(every) / seconds, 1),
            **_percentiles(every),
            "errors_5xx": failed,
            "shed_503": sum(c.get(503, 0) for c in self.statuses.values()),
            "server_500": sum(c.get(500, 0) for c in self.statuses.values()),
            "transport_errors": sum(c.get(0, 0) for c in self.statuses.values()),
            "routes": routes,
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50_ms": round(1000 * (values[0] if values else 0), 1)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(1000 * cuts[49], 1),
        "p95_ms": round(1000 * cuts[94], 1),
        "p99_ms": round(1000 * cuts[98], 1),
    }


async def _call(
    client: httpx.AsyncClient,
    record: Record,
    route: str,
    method: str,
    url: str,
    **kwargs: Any,
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError:
        record(route, time.perf_counter() - started, 0)
        return None
    record(route, time.perf_counter() - started, response.status_code)
    return response


async def child(client: httpx.AsyncClient, record: Record, me: dict[str, Any]) -> None:
    h = {"Authorization": f"Bearer {me['token']}"}
    await _call(client, record, "GET /threads (child)", "GET", "/api/v1/threads", headers=h)
    url = f"/api/v1/threads/{me['thread_id']}/messages"
    first = await _call(client, record, "GET /threads/{id}/messages", "GET", url, headers=h)
    cursor = first.json().get("next_cursor") if first is not None and first.is_success else None
    for _ in range(3):  # a deep page: a child scrolling back through the term
        if not cursor:
            break
        page = await _call(
            client, record, "GET /threads/{id}/messages (deep)", "GET", url,
            params={"cursor": cursor}, headers=h,
        )  # fmt: skip
        cursor = page.json().get("next_cursor") if page is not None and page.is_success else None
    if me["messages"]:
        message = random.choice(me["messages"])
        await _call(
            client, record, "GET /messages/{id}/audio", "GET", f"/api/v1/messages/{message}/audio",
            headers={**h, "Range": "bytes=0-16383"},
        )  # fmt: skip
        await _call(
            client, record, "POST /messages/{id}/progress", "POST",
            f"/api/v1/messages/{message}/progress",
            json={"play_id": uuid.uuid4().hex[:16], "position_ms": random.randint(0, 60_000)},
            headers=h,
        )  # fmt: skip


async def guardian(client: httpx.AsyncClient, record: Record, me: dict[str, Any]) -> None:
    h = {"Authorization": f"Bearer {me['token']}"}
    await _call(client, record, "GET /threads (guardian)", "GET", "/api/v1/threads", headers=h)
    await _call(
        client, record, "GET /threads/{id}/messages", "GET",
        f"/api/v1/threads/{me['thread_id']}/messages", headers=h,
    )  # fmt: skip
    if me["sent"]:
        message = random.choice(me["sent"])
        await _call(
            client, record, "GET /messages/{id}/receipt", "GET",
            f"/api/v1/messages/{message}/receipt", headers=h,
        )  # fmt: skip


async def staff(client: httpx.AsyncClient, record: Record, me: dict[str, Any]) -> None:
    h = {"Authorization": f"Bearer {me['token']}"}
    await _call(client, record, "GET /threads (staff)", "GET", "/api/v1/threads", headers=h)
    await _call(
        client, record, "GET /schools/{id}/quiet-children", "GET",
        f"/api/v1/schools/{me['school_id']}/quiet-children", headers=h,
    )  # fmt: skip


async def healthz(client: httpx.AsyncClient, record: Record, me: dict[str, Any]) -> None:
    await _call(client, record, "GET /healthz", "GET", "/healthz")


Scenario = Callable[[httpx.AsyncClient, Record, dict[str, Any]], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {"child": child, "guardian": guardian, "staff": staff}


async def run(
    base: str,
    users: dict[str, list[dict[str, Any]]],
    n_users: int,
    seconds: float,
    think: float,
    only_healthz: bool,
) -> dict[str, Any]:
    stats = Stats()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=n_users, max_keepalive_connections=n_users)
    rng = random.Random(7)

    async def user(index: int, client: httpx.AsyncClient) -> None:
        role = rng.choices(list(ROLES), weights=list(ROLES.values()))[0]
        me = users[role][index % len(users[role])]
        scenario = healthz if only_healthz else SCENARIOS[role]
        await asyncio.sleep(rng.random() * min(think, 1.0) if think else 0)  # ramp up
        while time.monotonic() < deadline:
            await scenario(client, stats.record, me)
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        started = time.monotonic()
        await asyncio.gather(*(user(i, client) for i in range(n_users)))
        elapsed = time.monotonic() - started
    return stats.summary(elapsed)


@contextlib.contextmanager
def server(tokens: dict[str, Any], workers: int, root: Path, s3: bool) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        weed = stack.enter_context(seaweed(root / "weed")) if s3 else None
        env = env_for(
            root,
            tokens["database_url"],
            tokens["secret_key"],
            weed,
            "bench-load",
            VOICEBRIDGE_JOBS__IN_PROCESS_WORKER="false",
        )
        if weed is not None:
            store: ObjectStore = weed.store("bench-load")
            store.ensure_ready()
        else:
            store = LocalObjectStore(root / "objects")
        store.put_bytes(PLAYABLE_KEY, bytes(PLAYABLE_SIZE), "audio/ogg")
        port = free_port()
        command = [
            sys.executable, "-c", "from voicebridge.cli import main; main()",
            "serve", "--no-migrate", "--workers", str(workers), "--port", str(port),
        ]  # fmt: skip
        proc = subprocess.Popen(command, env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180  # imports alone take seconds on a busy machine
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="concurrent users")
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between requests")
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    parser.add_argument("--tokens", type=Path, default=Path("bench-tokens.json"))
    parser.add_argument("--base-url", help="a running server instead of starting one")
    parser.add_argument(
        "--s3",
        action="store_true",
        help="serve from SeaweedFS (audio answers 307 to a presigned URL) instead of a "
        "local store (audio answers 206 with the range, streamed by the API)",
    )
    args = parser.parse_args()
    tokens = json.loads(args.tokens.read_text())
    with contextlib.ExitStack() as stack:
        if args.base_url:
            base = args.base_url
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vb-load-")))
            base = stack.enter_context(server(tokens, args.workers, root, args.s3))

        def phase(only_healthz: bool) -> dict[str, Any]:
            return asyncio.run(
                run(base, tokens["users"], args.users, args.seconds, args.think, only_healthz)
            )

        alone = phase(True)
        mix = phase(False)
    print(
        json.dumps(
            {
                "bench": "load",
                "users": args.users,
                "seconds": args.seconds,
                "think_s": args.think,
                "workers": args.workers,
                "scale": tokens.get("scale"),
                "healthz": {k: v for k, v in alone.items() if k != "routes"},
                "mix": mix,
                "mix_to_healthz_req_s": round(mix["req_s"] / alone["req_s"], 3)
                if alone["req_s"]
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
