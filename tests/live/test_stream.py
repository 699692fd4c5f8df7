"""The live stream across real API processes: fan-out, resume, revocation, restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import make_settings
from tests.factories import Factory
from tests.fixtures.database import create_scratch_database, drop_scratch_database
from tests.help.helpers import psychologist
from tests.live.servers import SSEReader, apis, start_api
from voicebridge.accounts.models import Role, User
from voicebridge.auth import service as auth
from voicebridge.config import Settings
from voicebridge.db import make_engine
from voicebridge.live import service as live
from voicebridge.migrate import upgrade

pytestmark = pytest.mark.slow

EVENTS = "/api/v1/events"


@dataclass
class World:
    settings: Settings
    engine: Engine
    psychologist: User
    psychologist_headers: dict[str, str]
    child_headers: dict[str, str]


def _world(settings: Settings) -> World:
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        school = factory.school()
        factory.staff(school, safeguarding=True)
        child = factory.child(school)
        psych, _ = psychologist(factory, name="Dr Live")
        child_user = session.get(User, child.id)
        assert child_user is not None
        world = World(settings, engine, psych, factory.headers(psych), factory.headers(child_user))
        session.commit()
    return world


@pytest.fixture
def pg_world(postgres_admin_url: str, tmp_path: Path) -> Iterator[World]:
    url, name = create_scratch_database(postgres_admin_url)
    upgrade(url)
    world = _world(make_settings(tmp_path, database_url=url))
    yield world
    world.engine.dispose()
    drop_scratch_database(postgres_admin_url, name)


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade(url)
    world = _world(make_settings(tmp_path, database_url=url))
    yield world
    world.engine.dispose()


def _raise(world: World, kind: str = "test.ping") -> int:
    with Session(world.engine) as session:
        events = live.publish(session, [world.psychologist.id], kind, thing_id="t1")
        session.commit()
    return events[0].id


def _ask_for_help(base: str, world: World) -> float:
    """The child says they are not safe; returns when the API answered (monotonic)."""
    response = httpx.post(
        f"{base}/api/v1/help/requests",
        json={"category": "other", "not_safe": True, "text": "I am not safe", "language": "cmn"},
        headers=world.child_headers,
        timeout=10,
    )
    answered = time.monotonic()
    assert response.status_code == 201, response.text
    return answered


def test_event_raised_in_one_process_reaches_a_stream_on_the_other(
    pg_world: World, tmp_path: Path
) -> None:
    with apis(pg_world.settings, tmp_path, 2) as (api_a, api_b):
        reader = SSEReader(api_b.url + EVENTS, pg_world.psychologist_headers).start()
        opened = reader.next(kind="stream.open")
        assert reader.status == 200
        answered = _ask_for_help(api_a.url, pg_world)
        offer = reader.next(timeout=3, kind="offer.new")
        assert offer.at - answered < 1.0, f"offer arrived {offer.at - answered:.3f} s after"
        assert offer.body["data"]["urgency"] == "critical"
        # Ids and kinds only: nothing the child said travels on the stream.
        assert "not safe" not in str(offer.body)
        assert int(offer.event_id or 0) > int(opened.event_id or 0)
        # An event raised by another process (a worker, this test) reaches it too.
        raised = _raise(pg_world)
        assert reader.next(timeout=1, kind="test.ping").event_id == str(raised)
        reader.close()


def test_last_event_id_resumes_without_missing_anything(pg_world: World, tmp_path: Path) -> None:
    with apis(pg_world.settings, tmp_path, 1) as (api,):
        first = SSEReader(api.url + EVENTS, pg_world.psychologist_headers).start()
        last = first.next(kind="stream.open").event_id
        assert last is not None
        first.close()
        missed = [_raise(pg_world, f"test.missed{i}") for i in range(3)]
        headers = {**pg_world.psychologist_headers, "Last-Event-ID": last}
        again = SSEReader(api.url + EVENTS, headers).start()
        got = [again.next(timeout=10) for _ in missed]
        assert [int(g.event_id or 0) for g in got] == missed
        assert [g.kind for g in got] == ["test.missed0", "test.missed1", "test.missed2"]
        again.close()
        # An id we no longer hold (purged, or never this person's): start over.
        stale = {**pg_world.psychologist_headers, "Last-Event-ID": "999999999"}
        reset = SSEReader(api.url + EVENTS, stale).start()
        assert reset.next(timeout=10).kind == "stream.reset"
        reset.close()
        bad = httpx.get(api.url + EVENTS, headers={**stale, "Last-Event-ID": "abc"}, timeout=5)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")


def test_revoked_sign_in_ends_the_stream(pg_world: World, tmp_path: Path) -> None:
    with apis(pg_world.settings, tmp_path, 2) as (api_a, api_b):
        reader = SSEReader(api_b.url + EVENTS, pg_world.psychologist_headers).start()
        reader.next(kind="stream.open")
        # Signed out through the other process: the stream ends at once.
        out = httpx.post(
            f"{api_a.url}/api/v1/auth/logout", headers=pg_world.psychologist_headers, timeout=5
        )
        assert out.status_code == 204
        end = reader.next(timeout=2, kind="stream.end")
        assert end.body["data"]["reason"] == "signed-out"
        assert reader.ended.wait(2)
        again = httpx.get(api_b.url + EVENTS, headers=pg_world.psychologist_headers, timeout=5)
        assert again.status_code == 401


def test_revocation_without_an_event_is_noticed_by_the_periodic_check(
    pg_world: World, tmp_path: Path
) -> None:
    """A device revoked or an account disabled: no event, the re-check ends the stream."""
    with apis(pg_world.settings, tmp_path, 1) as (api,):
        reader = SSEReader(api.url + EVENTS, pg_world.psychologist_headers).start()
        reader.next(kind="stream.open")
        with Session(pg_world.engine) as session:
            auth.revoke_user_sessions(session, pg_world.psychologist.id, "disabled")
            session.commit()
        end = reader.next(timeout=3, kind="stream.end")
        assert end.body["data"]["reason"] == "signed-out"


def test_stream_survives_a_restart_and_misses_nothing(pg_world: World, tmp_path: Path) -> None:
    api = start_api(pg_world.settings, tmp_path)
    try:
        reader = SSEReader(api.url + EVENTS, pg_world.psychologist_headers).start()
        last = reader.next(kind="stream.open").event_id
        started = time.monotonic()
        api.stop()
        # The stream is ended by the server (not cut), so shutdown does not hang on it.
        assert reader.next(timeout=3, kind="stream.end").body["data"]["reason"] == "reconnect"
        assert time.monotonic() - started < 5
        while_down = _raise(pg_world, "test.while-down")
        api = start_api(pg_world.settings, tmp_path, port=api.port)
        headers = {**pg_world.psychologist_headers, "Last-Event-ID": str(last)}
        resumed = SSEReader(api.url + EVENTS, headers).start()
        assert resumed.next(timeout=10).event_id == str(while_down)
        resumed.close()
    finally:
        api.stop()


def test_embedded_default_delivers_in_process(sqlite_world: World, tmp_path: Path) -> None:
    with apis(sqlite_world.settings, tmp_path, 1) as (api,):
        reader = SSEReader(api.url + EVENTS, sqlite_world.psychologist_headers).start()
        reader.next(kind="stream.open")
        answered = _ask_for_help(api.url, sqlite_world)
        offer = reader.next(timeout=3, kind="offer.new")
        assert offer.at - answered < 1.0


def test_publish_is_transactional(engine: Engine, session: Session, factory: Factory) -> None:
    """A rolled-back change tells nobody: its rows vanish with it (and NOTIFY is never sent)."""
    user = factory.user(Role.psychologist)
    session.commit()
    nested = session.begin_nested()
    live.publish(session, [user.id, user.id], "test.rolled-back", thing_id="x")
    nested.rollback()
    assert live.latest_id(session, user.id) == 0
    made = live.publish(session, [user.id, user.id], "test.kept", thing_id="x")
    assert len(made) == 1  # one event per person, however often named
    assert made[0].data == {"thing_id": "x"}
