"""The compose deployment's processes on loopback: a parent's message goes in through
Caddy's TLS, two API processes and a worker, and a child plays it back; then the
restore drill: back up, destroy PostgreSQL and the bucket, restore, verify, play."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlmodel import Session

from tests.audio.make import make_recording
from tests.deploy.stack import DEPLOY, Stack, postgres_bin, running_stack
from tests.factories import Factory
from voicebridge.accounts.models import User
from voicebridge.config import AuthSettings, Settings
from voicebridge.db import make_engine
from voicebridge.messages import service as messages

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if shutil.which("caddy") is None:
        return "caddy is not installed (apt-get install caddy; .ci/run does)"
    try:
        postgres_bin("initdb")
    except FileNotFoundError:
        return "PostgreSQL server binaries are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    with running_stack() as running:
        yield running


@dataclass
class Family:
    thread_id: uuid.UUID
    parent: dict[str, str]
    child: dict[str, str]


@pytest.fixture(scope="module")
def family(stack: Stack) -> Family:
    settings = Settings(
        database_url=stack.database_url,
        auth=AuthSettings(
            secret_key=stack.env["VOICEBRIDGE_AUTH__SECRET_KEY"],
            argon2_time_cost=1,
            argon2_memory_kib=8192,
        ),
    )
    engine = make_engine(stack.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        school = factory.school()
        factory.staff(school)
        child = factory.child(school)
        guardian, _ = factory.guardian_of(child)
        child_user = session.get(User, child.id)
        assert child_user is not None
        thread = messages.open_thread(session, guardian, child, None)
        result = Family(thread.id, factory.headers(guardian), factory.headers(child_user))
        session.commit()
    engine.dispose()
    return result


def _client(stack: Stack, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=stack.https, headers=headers, verify=stack.tls(), timeout=60)


def _send(stack: Stack, family: Family, recording: Path) -> str:
    """A parent's phone: tus through the proxy, in two PATCHes; returns the message id."""
    data = recording.read_bytes()
    meta = {"purpose": "message", "thread_id": str(family.thread_id), "filename": recording.name}
    tus = {"Tus-Resumable": "1.0.0"}
    with _client(stack, {**family.parent, **tus}) as phone:
        created = phone.post(
            "/api/v1/uploads",
            headers={
                "Upload-Length": str(len(data)),
                "Upload-Metadata": ",".join(
                    f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
                ),
            },
        )
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        half = len(data) // 2
        for start, chunk in ((0, data[:half]), (half, data[half:])):
            patched = phone.patch(
                location,
                content=iter([chunk[i : i + 65536] for i in range(0, len(chunk), 65536)]),
                headers={
                    "Upload-Offset": str(start),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert patched.status_code == 204, patched.text
    with _client(stack, family.child) as tablet:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listing = tablet.get(f"/api/v1/threads/{family.thread_id}/messages")
            assert listing.status_code == 200, listing.text
            mine = [m for m in listing.json()["items"] if m["state"] == "ready"]
            if len(mine) > len(_SENT):
                new = next(m for m in mine if m["id"] not in _SENT)
                _SENT.append(new["id"])
                return str(new["id"])
            time.sleep(0.3)
    raise AssertionError(f"the worker did not make the message playable:\n{stack.tail('worker')}")


_SENT: list[str] = []


def _play(stack: Stack, family: Family, message_id: str) -> bytes:
    """The child's tablet: the API redirects to a presigned URL on the proxy's S3 host."""
    with _client(stack, family.child) as tablet:
        audio = tablet.get(f"/api/v1/messages/{message_id}/audio", follow_redirects=True)
    assert audio.status_code == 200, audio.text
    assert audio.headers["content-type"] == "audio/ogg"
    assert audio.url.port == stack.ports["s3_public"]
    assert audio.content[:4] == b"OggS"
    return audio.content


def _metrics(url: str, token: str | None = None) -> dict[str, float]:
    samples: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(url, timeout=10, headers=headers)
    assert answer.status_code == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            key = sample.name + json.dumps(sample.labels, sort_keys=True)
            samples[key] = sample.value
    return samples


def _total(samples: dict[str, float], name: str, **labels: str) -> float:
    total = 0.0
    for key, value in samples.items():
        metric, _, raw = key.partition("{")
        if metric == name:
            have = json.loads("{" + raw)
            if all(have.get(k) == v for k, v in labels.items()):
                total += value
    return total


def test_a_message_goes_through_the_deployment_and_the_child_plays_it(
    stack: Stack, family: Family, tmp_path: Path
) -> None:
    recording = make_recording(tmp_path / "goodnight.wav", "wav", 6.0)
    message_id = _send(stack, family, recording)
    assert _play(stack, family, message_id)

    # Two API processes answer behind the proxy, and /metrics adds up both.
    # The API's /metrics wants the token Prometheus is given (compose's secret).
    assert httpx.get(f"{stack.api}/metrics", timeout=10).status_code == 401
    api = _metrics(f"{stack.api}/metrics", stack.env["VOICEBRIDGE_OPS__METRICS_TOKEN"])
    assert (
        _total(api, "voicebridge_upload_bytes_total", purpose="message") >= recording.stat().st_size
    )
    assert _total(api, "voicebridge_dependency_up") == 2
    worker = _metrics(f"{stack.worker_probe}/metrics")
    assert (
        _total(worker, "voicebridge_jobs_finished_total", kind="audio.process", outcome="done") >= 1
    )
    assert _total(worker, "voicebridge_transcode_audio_seconds_total") >= 5.5
    # The internet never sees the metrics.
    with httpx.Client(verify=stack.tls()) as outside:
        assert outside.get(f"{stack.https}/metrics").status_code == 404
        # The S3 host passes reads only.
        assert (
            outside.put(
                f"https://localhost:{stack.ports['s3_public']}/x/y", content=b"x"
            ).status_code
            == 405
        )

    # Encryption at rest: the volumes hold the recording's bytes, but not in clear.
    volumes = list(stack.seaweed_data.rglob("*.dat"))
    assert sum(p.stat().st_size for p in volumes) >= recording.stat().st_size
    needle = recording.read_bytes()[100_000:100_064]
    assert not any(needle in p.read_bytes() for p in volumes)


def test_restore_drill_brings_back_every_message(
    stack: Stack, family: Family, tmp_path: Path
) -> None:
    backups = stack.root / "backups"
    backups.mkdir()
    if stack.pg_user:
        shutil.chown(backups, stack.pg_user)
    first = _send(stack, family, make_recording(tmp_path / "before.wav", "wav", 4.0))
    heard_before = hashlib.sha256(_play(stack, family, first)).hexdigest()

    # Back up: a base backup, then the objects (incremental; run as often as you like).
    pg_env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(stack.ports["postgres"]),
        "PGUSER": "voicebridge",
        "BACKUP_DIR": str(backups),
        "WAL_ARCHIVE": str(stack.wal_archive),
        "PATH": f"{Path(postgres_bin('pg_basebackup')).parent}:{os.environ['PATH']}",
    }
    stack.run("pg-backup", ["sh", str(DEPLOY / "backup" / "pg-backup.sh")], pg_env, stack.pg_user)
    # A message after the base backup comes back from the WAL archive: point in time.
    second = _send(stack, family, make_recording(tmp_path / "after.wav", "wav", 5.0))
    heard_second = hashlib.sha256(_play(stack, family, second)).hexdigest()
    engine = make_engine(stack.database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_switch_wal()"))
    engine.dispose()
    objects = backups / "objects"
    vb = shutil.which("voicebridge") or "voicebridge"
    out = stack.run(
        "backup", [vb, "backup", "objects", "--to", str(objects)], stack.voicebridge_env("api")
    )
    assert "copied" in out
    _wait_for_archive(stack)

    # Destroy: the database cluster and every object.
    stack.stop_postgres()
    shutil.rmtree(stack.pgdata)
    store_env = stack.voicebridge_env("api")
    _empty_bucket(stack, store_env)
    with httpx.Client(base_url=stack.api) as probe:
        assert probe.get("/readyz").status_code == 503

    # Restore, then prove it.
    restore_env = {**pg_env, "PGDATA": str(stack.pgdata)}
    stack.run(
        "pg-restore", ["sh", str(DEPLOY / "backup" / "pg-restore.sh")], restore_env, stack.pg_user
    )
    stack.start_postgres()
    _wait_for_promotion(stack)
    stack.run("restore", [vb, "restore", "objects", "--from", str(objects)], store_env)
    report = json.loads(stack.run("verify", [vb, "verify", "--deep", "--json"], store_env))
    assert report["ok"], report
    assert report["hashed"] >= 4  # two messages: original and playable each
    assert report["problem_count"] == 0

    # The proxy's health check took the API out while it was not ready; it comes back.
    _wait(lambda: httpx.get(f"{stack.https}/readyz", verify=stack.tls()).is_success, "proxy")
    assert hashlib.sha256(_play(stack, family, first)).hexdigest() == heard_before
    assert hashlib.sha256(_play(stack, family, second)).hexdigest() == heard_second


def _wait(ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready in {timeout:.0f}s")


def _wait_for_archive(stack: Stack) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = list((stack.pgdata / "pg_wal" / "archive_status").glob("*.ready"))
        if not ready:
            return
        time.sleep(0.2)
    raise AssertionError("WAL was not archived")


def _wait_for_promotion(stack: Stack) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = subprocess.run(
            [
                postgres_bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(stack.ports["postgres"]),
                "-U",
                "voicebridge",
                "-tAc",
                "SELECT pg_is_in_recovery()",
                "voicebridge",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and done.stdout.strip() == "f":
            return
        time.sleep(0.3)
    raise AssertionError(f"PostgreSQL did not finish recovery:\n{stack.tail('postgres')}")


def _empty_bucket(stack: Stack, env: dict[str, str]) -> None:
    from voicebridge.storage.s3 import S3ObjectStore

    store = S3ObjectStore(
        endpoint_url=stack.s3_url,
        region="us-east-1",
        bucket=env["VOICEBRIDGE_STORAGE__BUCKET"],
        access_key_id=env["VOICEBRIDGE_STORAGE__ACCESS_KEY_ID"],
        secret_access_key=env["VOICEBRIDGE_STORAGE__SECRET_ACCESS_KEY"],
    )
    keys = list(store.list_keys(""))
    assert keys
    for key in keys:
        store.delete(key)
    assert not list(store.list_keys(""))
