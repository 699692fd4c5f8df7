"""Is it the school's listening hour now, and if not, when does the next one start?

Windows are stored as school-local weekday and HH:MM (Monday is 0); the answer is
in UTC, so a tablet with a wrong clock or time zone still shows the right time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ListeningStatus:
    open: bool
    ends_at: datetime | None
    next_start: datetime | None


def _windows(hours: list[dict[str, Any]], day: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    for window in hours:
        if int(window["weekday"]) != day.weekday():
            continue
        start = time.fromisoformat(str(window["start"]))
        end = time.fromisoformat(str(window["end"]))
        out.append(
            (
                datetime.combine(day.date(), start, day.tzinfo),
                datetime.combine(day.date(), end, day.tzinfo),
            )
        )
    return sorted(out)


def status(hours: list[dict[str, Any]], timezone: str, now: datetime) -> ListeningStatus:
    """A school without windows is always open: nobody configured a limit."""
    if not hours:
        return ListeningStatus(open=True, ends_at=None, next_start=None)
    local = now.astimezone(ZoneInfo(timezone))
    ends_at = None
    for offset in range(8):
        day = local + timedelta(days=offset)
        for start, end in _windows(hours, day):
            if start <= local < end:
                ends_at = end
                continue
            if start > local:
                return ListeningStatus(
                    open=ends_at is not None,
                    ends_at=_utc(ends_at),
                    next_start=_utc(start),
                )
    return ListeningStatus(open=ends_at is not None, ends_at=_utc(ends_at), next_start=None)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(ZoneInfo("UTC")) if moment is not None else None
