"""Counting failed guesses in the database, so every API process shares the count."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from voicebridge import clock
from voicebridge.auth.models import Attempt
from voicebridge.errors import TooManyAttempts


def failures(session: Session, scope: str, key: str, window: timedelta) -> int:
    since = clock.now() - window
    stmt = select(func.count()).where(
        Attempt.scope == scope, Attempt.key == key, col(Attempt.at) >= since
    )
    return int(session.exec(stmt).one())


def ensure_allowed(session: Session, scope: str, key: str, limit: int, window: timedelta) -> None:
    if failures(session, scope, key, window) >= limit:
        raise TooManyAttempts(
            "Too many failed attempts; wait and try again", retry_after=int(window.total_seconds())
        )


def record_failure(session: Session, scope: str, key: str) -> None:
    session.add(Attempt(scope=scope, key=key))
    session.flush()


def clear(session: Session, scope: str, key: str) -> None:
    session.exec(delete(Attempt).where(col(Attempt.scope) == scope, col(Attempt.key) == key))
