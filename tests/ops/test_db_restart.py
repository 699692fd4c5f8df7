"""PostgreSQL restarted under the API: requests while it is down get 503 with
Retry-After (never 500), and once it is back every request succeeds again: the pool
pre-pings and reconnects instead of handing out dead connections.

A private server from the pgserver wheel, so stopping it disturbs no other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import make_settings
from tests.factories import Factory
from voicebridge.accounts.models import Role
from voicebridge.app import create_app
from voicebridge.db import make_engine
from voicebridge.migrate import upgrade


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[Any]:
    import pgserver

    server = pgserver.get_server(str(tmp_path / "pg"), cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.cleanup()


def test_requests_during_a_restart_get_503_and_none_fail_after(
    private_pg: Any, tmp_path: Path
) -> None:
    import pgserver

    url = private_pg.get_uri()
    upgrade(url)
    settings = make_settings(tmp_path, database_url=url)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        factory = Factory(session, settings)
        headers = factory.headers(factory.user(Role.guardian))
        session.commit()
    statuses: dict[str, list[int]] = {"before": [], "down": [], "after": []}
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:

        def ask(phase: str, times: int) -> None:
            for _ in range(times):
                response = client.get("/api/v1/me", headers=headers)
                statuses[phase].append(response.status_code)
                if response.status_code == 503:
                    assert int(response.headers["Retry-After"]) > 0
                    assert response.headers["content-type"].startswith("application/problem+json")

        ask("before", 5)
        # A fast shutdown ends every open connection, as a crash or failover would.
        pgserver.pg_ctl(  # type: ignore[attr-defined]
            ["stop", "-m", "fast", "-w"],
            pgdata=private_pg.pgdata,
            user=private_pg.system_user,
        )
        ask("down", 5)
        private_pg.ensure_postgres_running()
        ask("after", 20)
    engine.dispose()
    print(f"database restart: {statuses}")  # noqa: T201
    assert set(statuses["before"]) == {200}
    assert set(statuses["down"]) == {503}, statuses["down"]
    assert set(statuses["after"]) == {200}, "a request failed after the database came back"
