"""One open stream: backlog from the table, then live events, heartbeats and sign-in checks."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from voicebridge import metrics
from voicebridge.live import service
from voicebridge.live.broker import BROKER, CATCH_UP, SHUTDOWN, Event, Subscriber
from voicebridge.live.config import LiveSettings

# Ids already sent, kept to drop the repeats a resume's look-back and a catch-up bring.
SENT_MEMORY = 2000


@dataclass(frozen=True)
class StreamSpec:
    user_id: uuid.UUID
    session_id: uuid.UUID
    last_event_id: int | None
    # Seconds until the access token expires: the stream ends then.
    token_seconds: float


def frame(event: Event) -> str:
    body = json.dumps({"id": event.id, "kind": event.kind, "data": event.data})
    return f"id: {event.id}\ndata: {body}\n\n"


def control(kind: str, event_id: int | None = None, **data: str) -> str:
    """Stream housekeeping (``stream.open``, ``stream.reset``, ``stream.end``)."""
    body = json.dumps({"id": event_id, "kind": kind, "data": data})
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {body}\n\n"


class _Sent:
    def __init__(self) -> None:
        self.order: deque[int] = deque()
        self.ids: set[int] = set()
        self.highest = 0

    def add(self, event_id: int) -> bool:
        """False when it was sent already."""
        if event_id in self.ids:
            return False
        self.ids.add(event_id)
        self.order.append(event_id)
        if len(self.order) > SENT_MEMORY:
            self.ids.discard(self.order.popleft())
        self.highest = max(self.highest, event_id)
        return True


def _since(
    engine: Engine, user_id: uuid.UUID, last_id: int, lookback: timedelta
) -> tuple[list[Event], bool]:
    with Session(engine) as session:
        return service.since(session, user_id, last_id, lookback)


def _latest(engine: Engine, user_id: uuid.UUID) -> int:
    with Session(engine) as session:
        return service.latest_id(session, user_id)


def _alive(engine: Engine, session_id: uuid.UUID) -> bool:
    with Session(engine) as session:
        return service.sign_in_alive(session, session_id)


@dataclass
class Opening:
    """What a stream sends first, read in the request's own transaction."""

    frames: list[str]
    sent: _Sent


def opening(session: Session, settings: LiveSettings, spec: StreamSpec) -> Opening:
    sent = _Sent()
    frames = [f"retry: {settings.retry_ms}\n\n"]
    if spec.last_event_id is None:
        # A fresh stream: its first id is the newest event, so that a reconnect
        # from here resumes from here.
        sent.highest = service.latest_id(session, spec.user_id)
        frames.append(control("stream.open", sent.highest))
        return Opening(frames, sent)
    lookback = timedelta(seconds=settings.resume_lookback_seconds)
    backlog, too_old = service.since(session, spec.user_id, spec.last_event_id, lookback)
    if too_old:
        sent.highest = service.latest_id(session, spec.user_id)
        # The client fetches everything again, then resumes from here.
        frames.append(control("stream.reset", sent.highest))
        return Opening(frames, sent)
    sent.highest = spec.last_event_id
    frames.extend(frame(event) for event in backlog if sent.add(event.id))
    return Opening(frames, sent)


async def events(
    engine: Engine,
    settings: LiveSettings,
    spec: StreamSpec,
    subscriber: Subscriber,
    start: Opening,
) -> AsyncIterator[str]:
    """The subscriber was registered before ``start`` was read, so nothing falls between."""
    metrics.LIVE_STREAMS.inc()
    try:
        async for chunk in _run(engine, settings, spec, subscriber, start):
            yield chunk
    finally:
        BROKER.unsubscribe(subscriber)
        metrics.LIVE_STREAMS.dec()


async def _run(
    engine: Engine,
    settings: LiveSettings,
    spec: StreamSpec,
    subscriber: Subscriber,
    start: Opening,
) -> AsyncIterator[str]:
    lookback = timedelta(seconds=settings.resume_lookback_seconds)
    sent = start.sent
    for chunk in start.frames:
        yield chunk
    loop = asyncio.get_running_loop()
    started = loop.time()
    ends_at = started + min(settings.max_stream_seconds, max(0.0, spec.token_seconds))
    next_check = started + settings.session_check_seconds
    next_beat = started + settings.heartbeat_seconds
    while True:
        now = loop.time()
        if now >= ends_at:
            yield control("stream.end", reason="reconnect")
            return
        if now >= next_check:
            if not await asyncio.to_thread(_alive, engine, spec.session_id):
                yield control("stream.end", reason="signed-out")
                return
            next_check = now + settings.session_check_seconds
        if now >= next_beat:
            yield ": keep-alive\n\n"
            next_beat = now + settings.heartbeat_seconds
        wait = max(0.0, min(ends_at, next_check, next_beat) - loop.time())
        try:
            item = await asyncio.wait_for(subscriber.queue.get(), timeout=wait)
        except TimeoutError:
            continue
        if item == SHUTDOWN:
            yield control("stream.end", reason="reconnect")
            return
        if item == CATCH_UP:
            subscriber.overflowed = False
            missed, too_old = await asyncio.to_thread(
                _since, engine, spec.user_id, sent.highest, lookback
            )
            if too_old and sent.highest:
                yield control(
                    "stream.reset", await asyncio.to_thread(_latest, engine, spec.user_id)
                )
                continue
            for event in missed:
                if sent.add(event.id):
                    yield frame(event)
            continue
        assert isinstance(item, Event)
        if item.kind == "session.revoked" and item.data.get("session_id") == str(spec.session_id):
            yield control("stream.end", reason="signed-out")
            return
        if sent.add(item.id):
            yield frame(item)
