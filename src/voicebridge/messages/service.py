"""Threads and messages: opening a thread, the inbox, listing, deleting, the quiet report.

Access is decided by ``auth.policy``; list queries here are scoped to what
the caller may see, and single things are loaded and checked in ``deps.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.audio.models import AudioAsset
from voicebridge.auth import policy
from voicebridge.errors import Forbidden, InvalidInput, NotFound
from voicebridge.jobs import service as jobs
from voicebridge.messages.models import Listen, Message, MessageState, Thread, ThreadKind
from voicebridge.pagination import decode_cursor, encode_cursor
from voicebridge.schools.models import Child, School, SchoolClass
from voicebridge.transcripts import store as transcripts
from voicebridge.transcripts.models import Transcript

PURGE_JOB = "messages.purge_audio"


@dataclass(frozen=True)
class InboxRow:
    thread: Thread
    child: Child
    peer_name: str
    unread: int


def open_thread(
    session: Session, user: User, child: Child, guardian_id: uuid.UUID | None
) -> Thread:
    """Get-or-create the caller's thread with ``child``.

    A guardian opens their family thread, staff the school thread; a child
    names a guardian for a family thread, or none for the school thread.
    """
    if policy.is_self(user, child.id):
        if guardian_id is None:
            return _get_or_create(session, ThreadKind.school, child, school_id=child.school_id)
        if policy.active_link(session, guardian_id, child.id) is None:
            raise NotFound("No such guardian")
        return _get_or_create(session, ThreadKind.family, child, guardian_id=guardian_id)
    if policy.is_guardian_of(session, user, child.id):
        if guardian_id not in (None, user.id):
            raise InvalidInput("A guardian opens only their own thread")
        return _get_or_create(session, ThreadKind.family, child, guardian_id=user.id)
    if policy.is_staff_of(session, user, child.school_id):
        if guardian_id is not None:
            raise InvalidInput("Staff open the school's thread; leave guardian_id out")
        return _get_or_create(session, ThreadKind.school, child, school_id=child.school_id)
    raise Forbidden("Only the child's guardians and school can message them")


def _get_or_create(
    session: Session,
    kind: ThreadKind,
    child: Child,
    *,
    guardian_id: uuid.UUID | None = None,
    school_id: uuid.UUID | None = None,
) -> Thread:
    peer_id = guardian_id or school_id
    assert peer_id is not None
    query = select(Thread).where(Thread.child_id == child.id, Thread.peer_id == peer_id)
    found = session.exec(query).first()
    if found is not None:
        return found
    thread = Thread(
        kind=kind, child_id=child.id, guardian_id=guardian_id, school_id=school_id, peer_id=peer_id
    )
    session.add(thread)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Both sides opened it at once; the other transaction's row wins.
        session.expunge(thread)
        found = session.exec(query).first()
        if found is None:
            raise
        return found
    return thread


def _visible_threads(session: Session, user: User) -> ColumnElement[bool] | None:
    """A WHERE clause for the threads ``user`` takes part in, or None for none."""
    if user.role is Role.guardian:
        return and_(
            col(Thread.kind) == ThreadKind.family,
            col(Thread.guardian_id) == user.id,
            col(Thread.child_id).in_(policy.guardian_child_ids(session, user)),
        )
    if user.role is Role.child:
        child = session.get(Child, user.id)
        if child is None or child.left_at is not None:
            return None
        return and_(
            col(Thread.child_id) == child.id,
            or_(
                and_(
                    col(Thread.kind) == ThreadKind.school, col(Thread.school_id) == child.school_id
                ),
                and_(
                    col(Thread.kind) == ThreadKind.family,
                    col(Thread.guardian_id).in_(policy.child_guardian_ids(session, child.id)),
                ),
            ),
        )
    if user.role is Role.staff:
        return and_(
            col(Thread.kind) == ThreadKind.school,
            col(Thread.school_id).in_(policy.staff_school_ids(session, user)),
            col(Thread.school_id) == col(Child.school_id),
        )
    return None


def unread_query(user: User) -> ColumnElement[bool]:
    heard = exists().where(
        col(Listen.message_id) == col(Message.id), col(Listen.listener_id) == user.id
    )
    return and_(
        col(Message.state) == MessageState.ready,
        col(Message.deleted_at).is_(None),
        col(Message.sender_id) != user.id,
        ~heard,
    )


def inbox(
    session: Session, user: User, cursor: str | None, limit: int
) -> tuple[list[InboxRow], str | None]:
    where = _visible_threads(session, user)
    if where is None:
        return [], None
    stmt = (
        select(Thread, Child)
        .join(Child, col(Child.id) == col(Thread.child_id))
        .where(where, col(Child.left_at).is_(None))
    )
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                col(Thread.activity_at) < at,
                and_(col(Thread.activity_at) == at, col(Thread.id) < last_id),
            )
        )
    stmt = stmt.order_by(col(Thread.activity_at).desc(), col(Thread.id).desc()).limit(limit + 1)
    rows = list(session.exec(stmt).all())
    page, more = rows[:limit], len(rows) > limit
    ids = [thread.id for thread, _ in page]
    counts = dict(
        session.exec(
            select(Message.thread_id, func.count())
            .where(col(Message.thread_id).in_(ids), unread_query(user))
            .group_by(col(Message.thread_id))
        ).all()
    )
    items = [
        InboxRow(thread, child, _peer_name(session, thread), int(counts.get(thread.id, 0)))
        for thread, child in page
    ]
    last = page[-1][0] if page else None
    next_cursor = encode_cursor(last.activity_at, last.id) if more and last else None
    return items, next_cursor


def inbox_row(session: Session, user: User, thread: Thread, child: Child) -> InboxRow:
    unread = session.exec(
        select(func.count())
        .select_from(Message)
        .where(Message.thread_id == thread.id, unread_query(user))
    ).one()
    return InboxRow(thread, child, _peer_name(session, thread), int(unread))


def _peer_name(session: Session, thread: Thread) -> str:
    if thread.kind is ThreadKind.family and thread.guardian_id is not None:
        guardian = session.get(User, thread.guardian_id)
        return guardian.display_name if guardian else ""
    school = session.get(School, thread.school_id) if thread.school_id else None
    return school.name if school else ""


def list_messages(
    session: Session,
    user: User,
    thread: Thread,
    cursor: str | None,
    limit: int,
    *,
    search: str | None = None,
) -> tuple[list[Message], str | None]:
    """Newest first. Listeners see ready messages; the sender sees their own in any state.

    ``search`` keeps messages whose caption or transcript contains it (case-insensitive).
    """
    stmt = select(Message).where(
        Message.thread_id == thread.id,
        col(Message.deleted_at).is_(None),
        or_(col(Message.state) == MessageState.ready, col(Message.sender_id) == user.id),
    )
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        in_transcript = exists().where(
            col(Transcript.asset_id) == col(Message.asset_id),
            col(Transcript.text).ilike(pattern, escape="\\"),
        )
        stmt = stmt.where(or_(col(Message.caption).ilike(pattern, escape="\\"), in_transcript))
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                col(Message.created_at) < at,
                and_(col(Message.created_at) == at, col(Message.id) < last_id),
            )
        )
    stmt = stmt.order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(limit + 1)
    rows = list(session.exec(stmt).all())
    page = rows[:limit]
    more = len(rows) > limit
    return page, (encode_cursor(page[-1].created_at, page[-1].id) if more and page else None)


def display_state(message: Message, asset: AudioAsset) -> MessageState:
    """Between upload and ready the asset knows better (uploading vs processing)."""
    if message.state in (MessageState.ready, MessageState.failed):
        return message.state
    return MessageState(asset.state.value)


def asset_of(session: Session, message: Message) -> AudioAsset:
    asset = session.get(AudioAsset, message.asset_id)
    if asset is None:
        raise NotFound("No such message")
    return asset


def playable_asset(session: Session, message: Message) -> AudioAsset:
    """A ready message whose objects were purged (a race with deletion) is simply gone."""
    asset = asset_of(session, message)
    if asset.playable_key is None:
        raise NotFound("No such message")
    return asset


def assets_and_senders(
    session: Session, messages: list[Message]
) -> tuple[dict[uuid.UUID, AudioAsset], dict[uuid.UUID, str]]:
    """One query each for a page of messages, not two per message."""
    asset_ids = [m.asset_id for m in messages]
    sender_ids = list({m.sender_id for m in messages})
    assets = session.exec(select(AudioAsset).where(col(AudioAsset.id).in_(asset_ids))).all()
    names = session.exec(
        select(User.id, User.display_name).where(col(User.id).in_(sender_ids))
    ).all()
    return {a.id: a for a in assets}, dict(names)


def listens_of(
    session: Session, user: User, message_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Listen]:
    rows = session.exec(
        select(Listen).where(col(Listen.message_id).in_(message_ids), Listen.listener_id == user.id)
    ).all()
    return {row.message_id: row for row in rows}


def delete_message(session: Session, message: Message) -> None:
    """Hidden at once; the audio objects go in a job, after this transaction commits."""
    if message.deleted_at is None:
        message.deleted_at = clock.now()
        session.add(message)
    transcripts.forget(session, [message.asset_id])
    enqueue_purge(session, message.asset_id)
    session.flush()


def enqueue_purge(session: Session, asset_id: uuid.UUID) -> None:
    jobs.enqueue(
        session, PURGE_JOB, {"asset_id": str(asset_id)}, dedupe_key=f"{PURGE_JOB}:{asset_id}"
    )


@dataclass(frozen=True)
class QuietRow:
    child: Child
    class_name: str
    active_guardians: int
    last_family_message_at: datetime | None
    days_quiet: int | None


def quiet_children(session: Session, school: School, days: int) -> list[QuietRow]:
    """Children with no ready message from a guardian in ``days`` days, quietest first.

    Only the fact and the date are used: staff never see what a family said.
    Two queries whatever the school's size: per child, the newest family
    message is a correlated look-up that ``ix_messages_ready_by_sender`` answers
    with one index probe per thread (no scan of every family's messages), and
    the active guardians are counted in one grouped query.
    """
    now = clock.now()
    since = now - timedelta(days=days)
    # Nested look-ups rather than a join, so that the plan is the same at any
    # volume: the child's family threads by child, then per thread its newest
    # ready message from the guardian, read off the end of an index.
    newest_in_thread = (
        select(func.max(col(Message.ready_at)))
        .where(
            col(Message.thread_id) == col(Thread.id),
            col(Message.sender_id) == col(Thread.guardian_id),
            col(Message.state) == MessageState.ready,
            col(Message.deleted_at).is_(None),
        )
        .correlate(Thread)
        .scalar_subquery()
    )
    last_from_family = (
        select(func.max(newest_in_thread))
        .where(
            col(Thread.child_id) == col(Child.id),
            col(Thread.school_id).is_(None),
            col(Thread.kind) == ThreadKind.family,
        )
        .correlate(Child)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Child, SchoolClass.name, last_from_family)
        .join(SchoolClass, col(SchoolClass.id) == col(Child.class_id))
        .where(Child.school_id == school.id, col(Child.left_at).is_(None))
    ).all()
    guardians = policy.active_guardian_counts(session, school.id)
    result = []
    for child, class_name, last_at in rows:
        last = _aware(last_at)
        if last is not None and last >= since:
            continue
        result.append(
            QuietRow(
                child=child,
                class_name=class_name,
                active_guardians=guardians.get(child.id, 0),
                last_family_message_at=last,
                days_quiet=(now - last).days if last is not None else None,
            )
        )
    never = [r for r in result if r.last_family_message_at is None]
    known = sorted(
        (r for r in result if r.last_family_message_at is not None),
        key=lambda r: r.last_family_message_at or now,
    )
    return sorted(never, key=lambda r: (r.class_name, r.child.given_name)) + known


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type, so SQLite hands back naive UTC (or a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
