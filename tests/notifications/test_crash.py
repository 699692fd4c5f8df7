"""SIGKILL the delivery worker mid-batch, twice, while a provider holds its request.

A real ``voicebridge worker`` process on a committed PostgreSQL database sends
SMS, Web Push, e-mail and webhooks to the loopback receivers. Each kill comes
at the worst moment: the provider has the request and has not answered. The
next worker finds the delivery ``sending`` and sends it again with the same
idempotency key, so every receiver, keeping each key once, has every
notification exactly once; the only repeats on the wire are the requests that
were in flight when a worker died.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from tests.factories import Factory
from tests.fixtures.database import create_scratch_database, drop_scratch_database
from tests.help.helpers import psychologist
from tests.notifications.conftest import Receivers, contact, open_receivers
from tests.notifications.receivers import Arrival, TencentSms
from voicebridge.accounts.models import Role
from voicebridge.config import Settings
from voicebridge.db import make_engine
from voicebridge.migrate import upgrade
from voicebridge.notifications import outbox, service
from voicebridge.notifications.models import Channel, Delivery, DeliveryState

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 8


@pytest.fixture
def clock_at() -> None:
    """Real time here: the worker is another process, with the real clock."""


@pytest.fixture
def pg_engine(postgres_admin_url: str) -> Iterator[tuple[str, Engine]]:
    url, name = create_scratch_database(postgres_admin_url)
    upgrade(url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()
    drop_scratch_database(postgres_admin_url, name)


def _env(tmp: Path, url: str, r: Receivers) -> dict[str, str]:
    templates = {"safety_alert": "100002", "undelivered_alert": "100003"}
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "VOICEBRIDGE_ENVIRONMENT": "test",
        "VOICEBRIDGE_AUTH__SECRET_KEY": "k" * 40,
        "VOICEBRIDGE_DATABASE_URL": url,
        "VOICEBRIDGE_DATA_DIR": str(tmp / "data"),
        "VOICEBRIDGE_JOBS__LEASE_SECONDS": "2",
        "VOICEBRIDGE_JOBS__POLL_SECONDS": "0.05",
        "VOICEBRIDGE_LOG_JSON": "false",
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
        "VOICEBRIDGE_NOTIFICATIONS__PUSH__VAPID_PRIVATE_KEY": r.vapid_private,
        "VOICEBRIDGE_NOTIFICATIONS__EMAIL__BACKEND": "smtp",
        "VOICEBRIDGE_NOTIFICATIONS__EMAIL__PORT": str(r.mail.port),
        "VOICEBRIDGE_NOTIFICATIONS__EMAIL__SECURITY": "none",
        "VOICEBRIDGE_NOTIFICATIONS__SMS__BACKEND": "tencent",
        "VOICEBRIDGE_NOTIFICATIONS__SMS__ENDPOINT": r.sms.url,
        "VOICEBRIDGE_NOTIFICATIONS__SMS__SECRET_ID": TencentSms.SECRET_ID,
        "VOICEBRIDGE_NOTIFICATIONS__SMS__SECRET_KEY": TencentSms.SECRET_KEY,
        "VOICEBRIDGE_NOTIFICATIONS__SMS__SDK_APP_ID": TencentSms.APP_ID,
        "VOICEBRIDGE_NOTIFICATIONS__SMS__TEMPLATES": json.dumps(templates),
    }


class Killer:
    """Kills the current worker from inside a receiver, before it answers the request."""

    def __init__(self) -> None:
        self.worker: subprocess.Popen[bytes] | None = None
        self.in_flight: list[str] = []
        self.lock = threading.Lock()

    def at(self, nth: int) -> object:
        seen = [0]

        def on_arrival(arrival: Arrival) -> None:
            with self.lock:
                seen[0] += 1
                if seen[0] != nth or self.worker is None:
                    return
                self.in_flight.append(arrival.key)
                self.worker.send_signal(signal.SIGKILL)
                self.worker.wait(10)

        return on_arrival


def test_sigkill_mid_batch_delivers_every_notification_once(
    tmp_path: Path, pg_engine: tuple[str, Engine], settings: Settings
) -> None:
    url, engine = pg_engine
    receivers = open_receivers()
    try:
        _run(tmp_path, url, engine, settings, receivers)
    finally:
        receivers.close()


def _run(
    tmp_path: Path, url: str, engine: Engine, settings: Settings, receivers: Receivers
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session, settings)
        admin = factory.user(Role.admin, "Admin")
        endpoint = service.create_endpoint(
            session,
            admin,
            name="NGO",
            url=receivers.webhook.url + "/hook",
            events=["help.escalated"],
            school_id=None,
        )
        receivers.webhook.secret = endpoint.secret
        for i in range(PEOPLE):
            person, _ = psychologist(factory, name=f"Supervisor {i}", supervisor=True)
            contact(session, person, receivers, devices=1)
            outbox.record(session, person.id, "help.escalation", {"request_id": f"r{i}"})
            outbox.record(session, person.id, "help.offer", {"request_id": f"r{i}"})
            outbox.record_event(session, "help.escalated", None, {"escalation_id": f"e{i}"})
        session.commit()

    killer = Killer()
    receivers.sms.on_arrival = killer.at(3)  # type: ignore[assignment]
    receivers.push.on_arrival = killer.at(5)  # type: ignore[assignment]
    env = _env(tmp_path, url, receivers)
    kinds = ",".join([outbox.DISPATCH, outbox.DELIVER, outbox.DELIVER_SAFETY])
    starts = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if killer.worker is None or killer.worker.poll() is not None:
            starts += 1
            killer.worker = subprocess.Popen(
                [sys.executable, "-m", "tests.uploads.procs", "worker", "--kinds", kinds],
                env=env,
                cwd=ROOT,
            )
        if _all_sent(engine):
            break
        time.sleep(0.2)
    assert killer.worker is not None
    killer.worker.send_signal(signal.SIGTERM)
    killer.worker.wait(20)

    assert _all_sent(engine), "deliveries left unsent"
    assert len(killer.in_flight) == 2
    assert starts == 3
    with Session(engine) as session:
        deliveries = session.exec(select(Delivery)).all()
    expected = {c: {d.idempotency_key for d in deliveries if d.channel is c} for c in Channel}
    arrived = {
        Channel.sms: receivers.sms.keys(),
        Channel.push: receivers.push.keys(),
        Channel.email: receivers.mail.keys(),
        Channel.webhook: receivers.webhook.keys(),
    }
    repeats: list[str] = []
    for channel, keys in arrived.items():
        assert len(expected[channel]) == PEOPLE, channel
        assert set(keys) == expected[channel], channel  # every one arrived
        repeats += [key for key, n in Counter(keys).items() for _ in range(n - 1)]
    # The two requests a provider held when a worker died went again, with the same key;
    # nothing else was sent twice.
    assert sorted(repeats) == sorted(killer.in_flight)
    assert receivers.sms.rejected == receivers.push.rejected == receivers.webhook.rejected == []


def _all_sent(engine: Engine) -> bool:
    with Session(engine) as session:
        states = session.exec(select(Delivery.state)).all()
    return len(states) == 4 * PEOPLE and all(s is DeliveryState.sent for s in states)
