"""Failed guesses and rate limits, counted in the database so every API process shares them.

Failures slow the guesser down instead of locking the account: after a few free
failures each further try must wait twice as long as the last (1 s, 2 s, 4 s...
up to a cap). Counted per login *and client*, per client, and (with a low cap)
per login from everywhere, so a stranger guessing from one address slows only
that address, never the owner on their own phone.

Rate limits count hits in fixed windows with one atomic upsert per hit, in the
request's transaction (a refused or failed request does not count).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Executable, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, func, select

from voicebridge import clock
from voicebridge.auth.models import Attempt, RateCounter
from voicebridge.errors import DomainError, TooManyAttempts


class RateLimited(DomainError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


def failures(session: Session, scope: str, key: str, window: timedelta) -> int:
    since = clock.now() - window
    stmt = select(func.count()).where(
        Attempt.scope == scope, Attempt.key == key, col(Attempt.at) >= since
    )
    return int(session.exec(stmt).one())


def sources(session: Session, scope: str, key: str, window: timedelta) -> int:
    """How many distinct sources the failures came from."""
    since = clock.now() - window
    stmt = select(func.count(func.distinct(Attempt.source))).where(
        Attempt.scope == scope, Attempt.key == key, col(Attempt.at) >= since
    )
    return int(session.exec(stmt).one())


def ensure_allowed(session: Session, scope: str, key: str, limit: int, window: timedelta) -> None:
    if failures(session, scope, key, window) >= limit:
        raise TooManyAttempts(
            "Too many failed attempts; wait and try again", retry_after=int(window.total_seconds())
        )


def wait_seconds(
    session: Session, scope: str, key: str, window: timedelta, free: int, cap: int
) -> float:
    """Seconds left before the next try is allowed (0: now)."""
    since = clock.now() - window
    count, last = session.exec(
        select(func.count(), func.max(Attempt.at)).where(
            Attempt.scope == scope, Attempt.key == key, col(Attempt.at) >= since
        )
    ).one()
    if not count or count < free or last is None:
        return 0.0
    delay = min(float(cap), 2.0 ** min(count - free, 30))
    if isinstance(last, datetime) and last.tzinfo is None:
        last = last.replace(tzinfo=clock.now().tzinfo)
    left = (last + timedelta(seconds=delay) - clock.now()).total_seconds()
    return max(0.0, left)


def ensure_not_waiting(
    session: Session, scope: str, key: str, window: timedelta, free: int, cap: int
) -> None:
    left = wait_seconds(session, scope, key, window, free, cap)
    if left > 0:
        raise TooManyAttempts(
            "Too many failed attempts from here; wait and try again",
            retry_after=math.ceil(left),
        )


def record_failure(session: Session, scope: str, key: str, source: str | None = None) -> None:
    session.add(Attempt(scope=scope, key=key, source=source))
    session.flush()


def clear(session: Session, scope: str, key: str) -> None:
    session.exec(delete(Attempt).where(col(Attempt.scope) == scope, col(Attempt.key) == key))


def clear_ending(session: Session, scope: str, suffix: str) -> None:
    session.exec(
        delete(Attempt).where(col(Attempt.scope) == scope, col(Attempt.key).endswith(suffix))
    )


def hit(session: Session, scope: str, key: str, limit: int, window: timedelta, what: str) -> int:
    """Counts one use of a limited action; refuses it (429) past ``limit`` per window."""
    seconds = int(window.total_seconds())
    now = clock.now()
    start = datetime.fromtimestamp(now.timestamp() // seconds * seconds, now.tzinfo)
    table = getattr(RateCounter, "__table__")  # noqa: B009 - SQLModel does not type it
    assert isinstance(table, Table)
    values = {"scope": scope, "key": key, "window_start": start, "count": 1}
    increment = {"count": table.c["count"] + 1}
    conflict = ["scope", "key", "window_start"]
    stmt: Executable
    if session.get_bind().dialect.name == "postgresql":
        pg = pg_insert(table).values(**values)
        stmt = pg.on_conflict_do_update(index_elements=conflict, set_=increment).returning(
            table.c["count"]
        )
    else:
        lite = sqlite_insert(table).values(**values)
        stmt = lite.on_conflict_do_update(index_elements=conflict, set_=increment).returning(
            table.c["count"]
        )
    count = int(session.execute(stmt).scalar_one())
    if count > limit:
        retry = int((start + window - now).total_seconds())
        raise RateLimited(f"{what}: at most {limit} per {_window_text(window)}", retry)
    return count


def _window_text(window: timedelta) -> str:
    if window >= timedelta(days=1):
        return "day"
    if window >= timedelta(hours=1):
        return "hour"
    return f"{int(window.total_seconds())} s"


def expire(session: Session, older_than: timedelta) -> int:
    """Drops counters and failures nobody counts any more (a periodic job)."""
    cutoff = clock.now() - older_than
    a = session.exec(delete(RateCounter).where(col(RateCounter.window_start) < cutoff))
    b = session.exec(delete(Attempt).where(col(Attempt.at) < cutoff))
    return int(a.rowcount or 0) + int(b.rowcount or 0)
