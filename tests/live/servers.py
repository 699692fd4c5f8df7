"""API processes on loopback for the live tests, and a small SSE reader that timestamps events."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.seaweed import free_ports
from voicebridge.config import Settings

STARTUP = 90.0


@dataclass
class ApiProcess:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def api_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "VOICEBRIDGE_ENVIRONMENT": "test",
            "VOICEBRIDGE_DATABASE_URL": settings.database_url,
            "VOICEBRIDGE_DATA_DIR": str(settings.data_dir),
            "VOICEBRIDGE_STORAGE__LOCAL_PATH": str(settings.storage.local_path),
            "VOICEBRIDGE_AUTH__SECRET_KEY": settings.auth.secret_key,
            "VOICEBRIDGE_AUTH__ARGON2_TIME_COST": "1",
            "VOICEBRIDGE_AUTH__ARGON2_MEMORY_KIB": "1024",
            "VOICEBRIDGE_JOBS__IN_PROCESS_WORKER": "false",
            "VOICEBRIDGE_LOG_JSON": "false",
            "VOICEBRIDGE_LIVE__SESSION_CHECK_SECONDS": "1",
            "VOICEBRIDGE_LIVE__HEARTBEAT_SECONDS": "2",
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def start_api(settings: Settings, log_dir: Path, port: int | None = None) -> ApiProcess:
    port = port or free_ports(1)[0]
    log = log_dir / f"api-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "voicebridge.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=api_env(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    api = ApiProcess(port, process, log)
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{api.url}/healthz", timeout=5).status_code == 200:
                return api
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    api.stop()
    raise RuntimeError(f"API did not start: {log.read_text()[-3000:]}")


@contextmanager
def apis(settings: Settings, log_dir: Path, count: int) -> Iterator[list[ApiProcess]]:
    started: list[ApiProcess] = []
    try:
        for _ in range(count):
            started.append(start_api(settings, log_dir))
        yield started
    finally:
        for api in started:
            api.stop()


@dataclass
class Received:
    event_id: str | None
    body: dict[str, Any]
    at: float

    @property
    def kind(self) -> str:
        return str(self.body["kind"])


@dataclass
class SSEReader:
    """Reads one stream in a thread; every event lands in ``events`` with its arrival time."""

    url: str
    headers: dict[str, str]
    events: queue.Queue[Received] = field(default_factory=queue.Queue)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SSEReader:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:
            with httpx.stream(
                "GET", self.url, headers=self.headers, timeout=httpx.Timeout(30, read=60)
            ) as response:
                self.status = response.status_code
                event_id: str | None = None
                data: list[str] = []
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                    elif line == "" and data:
                        self.events.put(
                            Received(event_id, json.loads("\n".join(data)), time.monotonic())
                        )
                        event_id, data = None, []
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def next(self, timeout: float = 5.0, kind: str | None = None) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout} s")
            try:
                got = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if kind is None or got.kind == kind:
                return got
