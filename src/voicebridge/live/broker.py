"""Delivery inside one process: each open stream is a queue; events find them by user.

Streams run on the server's event loop; events arrive from request threads,
the in-process job worker's thread (SQLite, after commit) or the PostgreSQL
listener task, so every hand-over goes through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class Event:
    id: int
    user_id: uuid.UUID
    kind: str
    data: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "user_id": str(self.user_id), "kind": self.kind, "data": self.data}

    @classmethod
    def from_payload(cls, raw: dict[str, Any]) -> Event:
        return cls(int(raw["id"]), uuid.UUID(str(raw["user_id"])), str(raw["kind"]), raw["data"])


# Put into a stream's queue when it may have missed events (the listener reconnected,
# or its queue overflowed): the stream reads what it missed from the table.
CATCH_UP = "catch-up"
# Put into every queue when the server is shutting down: streams end and clients
# reconnect (to another process, or to this one restarted) with Last-Event-ID.
SHUTDOWN = "shutdown"


@dataclass(eq=False)
class Subscriber:
    user_id: uuid.UUID
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | str] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def put(self, item: Event | str) -> None:
        """Runs on the stream's loop."""
        if self.queue.qsize() >= QUEUE_LIMIT:
            if not self.overflowed:
                self.overflowed = True
                self.queue.put_nowait(CATCH_UP)
            return
        self.queue.put_nowait(item)


class Broker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[uuid.UUID, set[Subscriber]] = {}

    def subscribe(self, user_id: uuid.UUID) -> Subscriber:
        subscriber = Subscriber(user_id, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.setdefault(user_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            group = self._subscribers.get(subscriber.user_id)
            if group is not None:
                group.discard(subscriber)
                if not group:
                    del self._subscribers[subscriber.user_id]

    def count(self) -> int:
        with self._lock:
            return sum(len(group) for group in self._subscribers.values())

    def deliver(self, events: list[Event]) -> None:
        """Hands each event to its user's open streams; callable from any thread."""
        with self._lock:
            targets = [(e, list(self._subscribers.get(e.user_id, ()))) for e in events]
        for event, subscribers in targets:
            for subscriber in subscribers:
                _hand_over(subscriber, event)

    def catch_up_all(self) -> None:
        self._to_all(CATCH_UP)

    def close_all(self) -> None:
        self._to_all(SHUTDOWN)

    def _to_all(self, item: str) -> None:
        with self._lock:
            everyone = [s for group in self._subscribers.values() for s in group]
        for subscriber in everyone:
            _hand_over(subscriber, item)


def _hand_over(subscriber: Subscriber, item: Event | str) -> None:
    # A closed loop means the stream is ending; it unsubscribes on its way out.
    with contextlib.suppress(RuntimeError):
        subscriber.loop.call_soon_threadsafe(subscriber.put, item)


BROKER = Broker()
