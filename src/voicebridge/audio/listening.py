"""Which parts of a recording a listener heard: the rule shared by messages and stories.

Players report heard segments late and out of order; the union of intervals
ignores both, so stored progress never goes backwards.
"""

from __future__ import annotations

from collections.abc import Iterable

# Stored intervals per listener. Past this, the two intervals with the smallest
# gap between them are joined: the record stays bounded, erring towards "heard".
MAX_INTERVALS = 64
Interval = list[int]


def merge_intervals(existing: Iterable[Interval], new: Iterable[Interval]) -> list[Interval]:
    """The union of closed intervals, sorted and disjoint; touching ones are joined."""
    merged: list[Interval] = []
    for start, end in sorted([[int(a), int(b)] for a, b in [*existing, *new]]):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    excess = len(merged) - MAX_INTERVALS
    if excess <= 0:
        return merged
    # Joining across a gap leaves the other gaps as they were, so the smallest
    # ``excess`` gaps can be chosen at once rather than one at a time.
    by_gap = sorted(range(len(merged) - 1), key=lambda i: merged[i + 1][0] - merged[i][1])
    joined = set(by_gap[:excess])
    bounded: list[Interval] = []
    for i, interval in enumerate(merged):
        if i - 1 in joined:
            bounded[-1][1] = interval[1]
        else:
            bounded.append(interval)
    return bounded


def covered(intervals: Iterable[Interval]) -> int:
    return sum(end - start for start, end in intervals)
