"""The one source of "now". Tests and simulations swap in a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Aware UTC time; every stored time comes from here (design invariant 6)."""
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    global _source
    _source = source if source is not None else (lambda: datetime.now(UTC))


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
