"""Raising events (in the caller's transaction) and reading them back for a resume.

``publish`` writes one row per recipient and arranges delivery for when the
transaction commits, so a rolled-back change tells nobody:

* PostgreSQL: ``pg_notify`` inside the transaction. PostgreSQL sends it on
  commit to every API process listening on the channel (``listener.py``),
  whichever process or worker raised it.
* SQLite (the one-process embedded default): straight to this process's
  broker after commit.

Data are ids (strings) only: a stream never carries a child's words; the
client fetches what it may see through the API, past the access policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from voicebridge import clock, metrics
from voicebridge.accounts.models import User
from voicebridge.auth.models import AuthSession
from voicebridge.live.broker import BROKER, Event
from voicebridge.live.models import LiveEvent

CHANNEL = "voicebridge_live"
# NOTIFY payloads must stay under 8000 bytes; events are batched up to this size.
PAYLOAD_BYTES = 7000


def publish(
    session: Session, user_ids: Iterable[uuid.UUID], kind: str, **ids: uuid.UUID | str | int
) -> list[Event]:
    """Tells each of ``user_ids`` (once each) that ``kind`` happened to the things ``ids`` name."""
    data = {key: str(value) for key, value in ids.items()}
    now = clock.now()
    rows = [
        LiveEvent(user_id=user_id, kind=kind, data=data, created_at=now)
        for user_id in dict.fromkeys(user_ids)
    ]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    events = [Event(int(r.id or 0), r.user_id, r.kind, r.data) for r in rows]
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        for chunk in _chunks(events):
            session.connection().execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": chunk},
            )
    else:
        metrics.on_commit(session, lambda: BROKER.deliver(events))
    return events


def _chunks(events: list[Event]) -> Iterable[str]:
    batch: list[dict[str, object]] = []
    size = 2
    for event in events:
        item = event.payload()
        item_size = len(json.dumps(item)) + 1
        if batch and size + item_size > PAYLOAD_BYTES:
            yield json.dumps(batch)
            batch, size = [], 2
        batch.append(item)
        size += item_size
    if batch:
        yield json.dumps(batch)


def parse_payload(payload: str) -> list[Event]:
    return [Event.from_payload(item) for item in json.loads(payload)]


def since(
    session: Session, user_id: uuid.UUID, last_id: int, lookback: timedelta
) -> tuple[list[Event], bool]:
    """Events after ``last_id`` (and shortly before it, see below); True when it is too old.

    On PostgreSQL an id is taken at insert and becomes visible at commit, so a
    transaction that started first may commit a smaller id after a larger one
    was sent. Events written up to ``lookback`` before the last one seen are
    sent again; clients drop ids they already have.
    """
    if last_id == 0:
        # The stream opened before this person had any event: all of them are new.
        everything = select(LiveEvent).where(LiveEvent.user_id == user_id)
        return [_event(row) for row in session.exec(everything.order_by(col(LiveEvent.id)))], False
    last = session.get(LiveEvent, last_id)
    if last is None or last.user_id != user_id:
        # Purged (or never this person's): we cannot tell what was missed.
        return [], True
    stmt = (
        select(LiveEvent)
        .where(
            LiveEvent.user_id == user_id,
            col(LiveEvent.id) != last_id,
            (col(LiveEvent.id) > last_id)
            | (col(LiveEvent.created_at) >= last.created_at - lookback),
        )
        .order_by(col(LiveEvent.id))
    )
    return [_event(row) for row in session.exec(stmt)], False


def latest_id(session: Session, user_id: uuid.UUID) -> int:
    found = session.exec(
        select(LiveEvent.id)
        .where(LiveEvent.user_id == user_id)
        .order_by(col(LiveEvent.id).desc())
        .limit(1)
    ).first()
    return int(found or 0)


def _event(row: LiveEvent) -> Event:
    return Event(int(row.id or 0), row.user_id, row.kind, row.data)


def sign_in_alive(session: Session, session_id: uuid.UUID) -> bool:
    auth_session = session.get(AuthSession, session_id)
    if auth_session is None or auth_session.revoked_at is not None:
        return False
    if auth_session.expires_at <= clock.now():
        return False
    user = session.get(User, auth_session.user_id)
    return user is not None and user.is_active


def purge(session: Session, retention: timedelta) -> int:
    cutoff = clock.now() - retention
    result = session.exec(delete(LiveEvent).where(col(LiveEvent.created_at) < cutoff))
    return int(result.rowcount or 0)
