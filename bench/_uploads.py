"""Shared by the upload benchmarks: SeaweedFS, an API subprocess, a user and a tus upload."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlmodel import Session
from tests.fixtures import seaweed as weed
from tests.uploads.conftest import upload_settings
from tests.uploads.live import free_port, guardian_headers
from tusclient import client as tus_client

from voicebridge.db import make_engine
from voicebridge.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]


class _Tmp:
    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@contextlib.contextmanager
def seaweed(root: Path) -> Iterator[weed.SeaweedServer]:
    """The tests' SeaweedFS fixture, driven by hand."""
    gen = weed.seaweed.__wrapped__(_Tmp(root))  # type: ignore[attr-defined]
    server = next(gen)
    try:
        yield server
    finally:
        with contextlib.suppress(StopIteration):
            next(gen)


def env_for(
    root: Path,
    db_url: str,
    secret: str,
    server: weed.SeaweedServer | None,
    bucket: str,
    **extra: str,
) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "VOICEBRIDGE_AUTH__SECRET_KEY": secret,
        "VOICEBRIDGE_DATABASE_URL": db_url,
        "VOICEBRIDGE_DATA_DIR": str(root / "data"),
        "VOICEBRIDGE_LOG_JSON": "false",
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
        "VOICEBRIDGE_UPLOADS__MAX_BYTES": str(1024**3),
    }
    if server is None:
        env |= {
            "VOICEBRIDGE_STORAGE__BACKEND": "local",
            "VOICEBRIDGE_STORAGE__LOCAL_PATH": str(root / "objects"),
        }
    else:
        env |= {
            "VOICEBRIDGE_STORAGE__BACKEND": "s3",
            "VOICEBRIDGE_STORAGE__BUCKET": bucket,
            "VOICEBRIDGE_STORAGE__ENDPOINT_URL": server.endpoint_url,
            "VOICEBRIDGE_STORAGE__ACCESS_KEY_ID": server.access_key_id,
            "VOICEBRIDGE_STORAGE__SECRET_ACCESS_KEY": server.secret_access_key,
        }
    return env | extra


def database(root: Path) -> tuple[str, dict[str, str], str]:
    """A migrated SQLite file with one guardian; returns url, auth headers and the secret."""
    url = f"sqlite:///{root / 'bench.db'}"
    upgrade(url)
    settings = upload_settings(root)
    engine = make_engine(url)
    headers = guardian_headers(engine, settings)
    engine.dispose()
    return url, headers, settings.auth.secret_key


@contextlib.contextmanager
def api(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.uploads.procs", "api", str(port)], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Importing the app takes a while on a shared, busy machine.
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(30)


def tus_upload(base: str, headers: dict[str, str], path: Path, chunk: int) -> str:
    client = tus_client.TusClient(f"{base}/api/v1/uploads", headers=headers)
    uploader = client.uploader(
        str(path), chunk_size=chunk, metadata={"purpose": "test", "filename": path.name}
    )
    uploader.upload()
    assert uploader.url is not None
    return uploader.url


def asset_of(base: str, headers: dict[str, str], url: str) -> str:
    head = httpx.head(url, headers={**headers, "Tus-Resumable": "1.0.0"})
    return head.headers["Asset-Id"]


def wait_ready(db_url: str, asset_id: str, timeout: float) -> None:
    import uuid

    from voicebridge.audio.models import AssetState, AudioAsset

    engine = make_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                asset = session.get(AudioAsset, uuid.UUID(asset_id))
                if asset is not None and asset.state in (AssetState.ready, AssetState.failed):
                    if asset.state is AssetState.failed:
                        raise RuntimeError(
                            f"asset failed: {asset.failure_type} {asset.failure_detail}"
                        )
                    return
            time.sleep(0.5)
        raise TimeoutError("asset not ready in time")
    finally:
        engine.dispose()


def token() -> str:
    return secrets.token_hex(4)
