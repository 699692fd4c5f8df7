"""Playback progress and receipts.

Players report what was heard as segments, often late (a tablet offline for
the evening) and out of order. Every part of a report merges by an operation
that ignores order and repetition (union of intervals, maximum position, set
of play ids, min/max of times), so whatever arrives in whatever order, the
stored progress never goes backwards and a re-sent report changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.listening import covered, merge_intervals
from voicebridge.audio.models import AudioAsset
from voicebridge.messages.models import Listen, Message
from voicebridge.messages.schemas import ProgressReport
from voicebridge.notifications import events as notify

# Play ids remembered per listener; a report re-sent after this many newer plays
# would count again, which no real player does.
MAX_PLAY_IDS = 50
# A message counts as heard in full when this share of it was played.
COMPLETE_FRACTION = 0.95


def _listen_for_update(session: Session, message: Message, user: User) -> Listen:
    """The caller's row, locked on PostgreSQL so two devices' reports cannot overwrite
    each other; created on the first report."""
    query = select(Listen).where(Listen.message_id == message.id, Listen.listener_id == user.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is not None:
        return found
    listen = Listen(message_id=message.id, listener_id=user.id)
    session.add(listen)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        session.expunge(listen)
        found = session.exec(query).first()
        if found is None:
            raise
        return found
    return listen


def _clamp_time(at: datetime, earliest: datetime | None, now: datetime) -> datetime:
    """Device clocks lie; a heard time lies between the message being ready and now."""
    if at > now:
        return now
    if earliest is not None and at < earliest:
        return earliest
    return at


def record_progress(
    session: Session, user: User, message: Message, asset: AudioAsset, report: ProgressReport
) -> Listen:
    duration = asset.duration_ms or 0
    now = clock.now()
    listen = _listen_for_update(session, message, user)
    first_play = listen.plays == 0
    clipped = [[min(s.start_ms, duration), min(s.end_ms, duration)] for s in report.segments]
    listen.heard = merge_intervals(listen.heard, clipped)
    listen.heard_ms = covered(listen.heard)
    listen.position_ms = max(listen.position_ms, min(report.position_ms, duration))
    if report.play_id not in listen.play_ids:
        listen.plays += 1
        listen.play_ids = [*listen.play_ids, report.play_id][-MAX_PLAY_IDS:]
    times = [_clamp_time(s.at, message.ready_at, now) for s in report.segments]
    if times:
        first, last = min(times), max(times)
        if listen.first_heard_at is None or first < listen.first_heard_at:
            listen.first_heard_at = first
        if listen.last_heard_at is None or last > listen.last_heard_at:
            listen.last_heard_at = last
    if (
        listen.completed_at is None
        and duration > 0
        and listen.heard_ms >= duration * COMPLETE_FRACTION
    ):
        listen.completed_at = listen.last_heard_at or now
    listen.updated_at = now
    session.add(listen)
    session.flush()
    if first_play and listen.plays > 0:
        notify.child_listened(session, user, message)
    return listen


@dataclass(frozen=True)
class ListenerSummary:
    listen: Listen
    name: str


@dataclass(frozen=True)
class ReceiptSummary:
    heard_ms: int
    plays: int
    first_heard_at: datetime | None
    last_heard_at: datetime | None
    completed: bool
    listeners: list[ListenerSummary]


def receipt(session: Session, message: Message) -> ReceiptSummary:
    """Across listeners: the furthest anyone got and everyone's plays together.

    A family thread has one listener; a child's message to the school may be
    heard by several staff, each listed.
    """
    rows = session.exec(
        select(Listen, User.display_name)
        .join(User, col(User.id) == col(Listen.listener_id))
        .where(Listen.message_id == message.id, Listen.listener_id != message.sender_id)
        .order_by(col(Listen.updated_at))
    ).all()
    listens = [listen for listen, _ in rows]
    firsts = [x.first_heard_at for x in listens if x.first_heard_at is not None]
    lasts = [x.last_heard_at for x in listens if x.last_heard_at is not None]
    return ReceiptSummary(
        heard_ms=max((x.heard_ms for x in listens), default=0),
        plays=sum(x.plays for x in listens),
        first_heard_at=min(firsts, default=None),
        last_heard_at=max(lasts, default=None),
        completed=any(x.completed_at is not None for x in listens),
        listeners=[ListenerSummary(listen, name) for listen, name in rows],
    )
