"""An overloaded API process says 503 with Retry-After at once, and recovers by itself."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import make_settings
from voicebridge.app import create_app
from voicebridge.config import DatabaseSettings
from voicebridge.db import engine_for
from voicebridge.overload import InFlightLimit

LOGIN = {"login": "nobody@example.org", "password": "not-this"}


def test_no_free_connection_is_a_quick_503_not_a_500(committed_url: str, tmp_path: Path) -> None:
    if not committed_url.startswith("postgresql"):
        pytest.skip("SQLite opens a connection per use; there is no pool to run out of")
    db = DatabaseSettings(pool_size=1, max_overflow=0, pool_timeout_seconds=0.3)
    settings = make_settings(tmp_path, db=db, database_url=committed_url)
    engine = engine_for(settings.db, committed_url)
    app = create_app(settings, engine=engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        held = engine.connect()  # the one connection, busy elsewhere
        try:
            started = time.monotonic()
            busy = client.post("/api/v1/auth/login", json=LOGIN)
            waited = time.monotonic() - started
        finally:
            held.close()
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == str(settings.server.retry_after_seconds)
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["type"].endswith("/overloaded")
        assert waited < 5
        # The connection is back: the same request is answered as usual.
        assert client.post("/api/v1/auth/login", json=LOGIN).status_code == 401
        shed = client.get("/metrics").text
        assert 'voicebridge_http_shed_total{reason="db_pool"}' in shed
    engine.dispose()


def _slow_app() -> tuple[ASGIApp, asyncio.Event, asyncio.Event]:
    release, entered = asyncio.Event(), asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != "/healthz":
            entered.set()
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app, release, entered


def test_requests_beyond_the_in_flight_limit_are_refused_at_once() -> None:
    async def scenario() -> None:
        app, release, entered = _slow_app()
        limited = InFlightLimit(app, limit=1, retry_after=3)
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = asyncio.create_task(client.get("/api/v1/threads"))
            await asyncio.wait_for(entered.wait(), 5)
            refused = await client.get("/api/v1/threads")
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "3"
            assert refused.json()["type"].endswith("/overloaded")
            # Probes and uploads are not counted against the limit.
            assert (await client.get("/healthz")).status_code == 200
            release.set()
            assert (await first).status_code == 200
            assert (await client.get("/api/v1/threads")).status_code == 200
        assert limited.in_flight == 0

    asyncio.run(scenario())


def test_zero_turns_the_limit_off() -> None:
    async def scenario() -> None:
        app, release, entered = _slow_app()
        transport = httpx.ASGITransport(app=InFlightLimit(app, limit=0, retry_after=3))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            waiting = [asyncio.create_task(client.get("/api/v1/threads")) for _ in range(5)]
            await asyncio.wait_for(entered.wait(), 5)
            release.set()
            assert [(await w).status_code for w in waiting] == [200] * 5

    asyncio.run(scenario())
