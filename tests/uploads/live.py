"""A real uvicorn server in a thread and committed test data, for clients that need a socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session

from tests.factories import Factory
from voicebridge.accounts.models import Role
from voicebridge.app import create_app
from voicebridge.config import Settings
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker, load_handlers
from voicebridge.storage.base import ObjectStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(settings: Settings, engine: Engine, store: ObjectStore) -> Iterator[str]:
    app = create_app(settings, engine=engine, store=store)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def guardian_headers(engine: Engine, settings: Settings) -> dict[str, str]:
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        headers = factory.headers(factory.user(Role.guardian))
        session.commit()
    return headers


def run_jobs(engine: Engine, settings: Settings, store: ObjectStore) -> int:
    load_handlers()
    worker = Worker(JobContext(engine, settings, store, "test-worker"), lease=timedelta(minutes=5))
    return worker.run_until_idle()
