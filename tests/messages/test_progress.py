"""Progress merges late, repeated and out-of-order reports without ever going backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from tests.factories import Factory
from tests.messages.conftest import Family
from tests.messages.helpers import ready_message
from voicebridge.audio.listening import MAX_INTERVALS, covered, merge_intervals
from voicebridge.audio.models import AudioAsset
from voicebridge.clock import FakeClock
from voicebridge.messages import progress, service
from voicebridge.messages.models import Message
from voicebridge.messages.schemas import ProgressReport


def test_merge_is_a_union_in_any_order() -> None:
    reports = [[[0, 1000]], [[3000, 4000]], [[500, 3500]], [[0, 1000]]]
    forward: list[list[int]] = []
    for report in reports:
        forward = merge_intervals(forward, report)
    backward: list[list[int]] = []
    for report in reversed(reports):
        backward = merge_intervals(backward, report)
    assert forward == backward == [[0, 4000]]
    assert merge_intervals([[0, 10]], [[10, 20], [30, 40], [5, 5]]) == [[0, 20], [30, 40]]


def test_merge_stays_bounded_and_never_loses_what_was_heard() -> None:
    scattered = [[i * 1000, i * 1000 + 100 + (i % 7) * 10] for i in range(500)]
    merged = merge_intervals([], scattered)
    assert len(merged) == MAX_INTERVALS
    assert covered(merged) >= covered(scattered)
    for start, end in scattered:
        assert any(s <= start and end <= e for s, e in merged)


def _report(play: str, position: int, *segments: tuple[int, int, datetime]) -> ProgressReport:
    return ProgressReport.model_validate(
        {
            "play_id": play,
            "position_ms": position,
            "segments": [{"start_ms": s, "end_ms": e, "at": at} for s, e, at in segments],
        }
    )


def _message(session: Session, family: Family, store: Any) -> tuple[Message, AudioAsset]:
    message = ready_message(session, store, family.guardian, family.thread)
    return message, service.asset_of(session, message)


def test_late_out_of_order_reports_never_go_backwards(
    session: Session, family: Family, local_store: Any, fake_clock: FakeClock
) -> None:
    message, asset = _message(session, family, local_store)
    duration = asset.duration_ms or 0
    assert duration > 3000
    child = family.child_user
    now = fake_clock.advance(hours=12)
    # The evening's second play arrives first; the first play, sent from an
    # offline tablet, arrives the next morning with an earlier position.
    later = _report("play-2", 3000, (2000, 3000, now - timedelta(minutes=5)))
    listen = progress.record_progress(session, child, message, asset, later)
    assert (listen.position_ms, listen.heard_ms, listen.plays) == (3000, 1000, 1)

    earlier = _report("play-1", 1500, (0, 1500, now - timedelta(hours=1)))
    listen = progress.record_progress(session, child, message, asset, earlier)
    assert listen.position_ms == 3000
    assert listen.heard == [[0, 1500], [2000, 3000]]
    assert listen.heard_ms == 2500
    assert listen.plays == 2
    assert listen.first_heard_at is not None
    assert listen.last_heard_at is not None
    assert listen.first_heard_at < listen.last_heard_at

    again = progress.record_progress(session, child, message, asset, earlier)
    assert (again.heard_ms, again.plays, again.position_ms) == (2500, 2, 3000)


def test_positions_and_segments_are_clipped_to_the_recording(
    session: Session, family: Family, local_store: Any
) -> None:
    message, asset = _message(session, family, local_store)
    duration = asset.duration_ms or 0
    future = datetime.now(UTC) + timedelta(days=30)
    report = _report("p", duration + 60_000, (0, duration + 60_000, future))
    listen = progress.record_progress(session, family.child_user, message, asset, report)
    assert listen.position_ms == duration
    assert listen.heard_ms == duration
    assert listen.completed_at is not None
    assert listen.last_heard_at is not None
    assert listen.last_heard_at <= datetime.now(UTC)


def test_receipt_sums_plays_and_reports_furthest_heard(
    session: Session, factory: Factory, family: Family, local_store: Any
) -> None:
    message = ready_message(session, local_store, family.child_user, family.thread)
    asset = service.asset_of(session, message)
    empty = progress.receipt(session, message)
    assert (empty.heard_ms, empty.plays, empty.completed, empty.first_heard_at) == (
        0,
        0,
        False,
        None,
    )

    now = datetime.now(UTC)
    progress.record_progress(
        session, family.guardian, message, asset, _report("a", 1000, (0, 1000, now))
    )
    progress.record_progress(
        session, family.guardian, message, asset, _report("b", 2500, (0, 2500, now))
    )
    summary = progress.receipt(session, message)
    assert summary.heard_ms == 2500
    assert summary.plays == 2
    assert not summary.completed
    assert [x.listen.listener_id for x in summary.listeners] == [family.guardian.id]


def test_bounding_joins_the_smallest_gaps_first() -> None:
    spaced = [[i * 1000, i * 1000 + 10] for i in range(MAX_INTERVALS)]
    spaced[11] = [10_110, 10_200]  # 100 ms after spaced[10]; every other gap is 990 ms
    merged = merge_intervals(spaced, [[500_000, 500_010], [500_015, 500_020]])
    assert len(merged) == MAX_INTERVALS
    assert merged[-1] == [500_000, 500_020]
    assert merged[10] == [10_000, 10_200]
    assert merged[:10] == spaced[:10]
    assert merged[11:-1] == spaced[12:]
