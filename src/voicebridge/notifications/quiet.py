"""Quiet hours: when an ordinary notice may reach someone's phone, in their own zone.

Everything is computed from wall-clock times in the person's (or school's) zone
with ``zoneinfo``, so a quiet night of 22:00-07:00 ends at 07:00 local time
whether the night was 8, 9 or 10 hours long because the clocks changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("Asia/Shanghai")


def _inside(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _at_local(day: datetime, wall: time, tz: ZoneInfo) -> datetime:
    """``wall`` on ``day``'s date in ``tz``, as UTC. A wall time the clocks skip
    (spring forward) lands just after the gap; a repeated one takes its first moment."""
    naive = datetime.combine(day.date(), wall)
    aware = naive.replace(tzinfo=tz, fold=0)
    # Round-trip through UTC normalises a time inside a gap to a real instant.
    return aware.astimezone(UTC)


def quiet_until(at: datetime, tz: ZoneInfo, start: str, end: str) -> datetime | None:
    """When the quiet period that contains ``at`` ends (UTC), or None if ``at`` is not quiet."""
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    local = at.astimezone(tz)
    if not _inside(local.time().replace(tzinfo=None), begin, finish):
        return None
    day = local if local.time().replace(tzinfo=None) < finish else local + timedelta(days=1)
    release = _at_local(day, finish, tz)
    if release <= at:  # defensive: a gap swallowed the end; release now
        return at
    return release
