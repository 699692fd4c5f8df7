"""Reading a case: what a child is told while waiting, the case's recordings, the access log.

Every read of a child's words leaves a row in ``case_access_log``: single
requests, lists, queues, message lists and each play of a recording.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.errors import InvalidInput, NotFound
from voicebridge.help import routing
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import (
    CaseAccessLog,
    HelpMessage,
    HelpRequest,
    MessageState,
    RequestState,
)
from voicebridge.help.service import log_access
from voicebridge.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class ChildStatus:
    status: str
    text: str
    expected_by: datetime | None


def child_status(session: Session, settings: HelpSettings, request: HelpRequest) -> ChildStatus:
    """What the child is told, honestly: nobody is promised who is not there.

    ``expected_by`` is when a volunteer should have taken the request or, failing
    that, a supervisor is called in (the request's T1); None when nobody is on duty.
    """
    if request.state is RequestState.closed:
        return ChildStatus("closed", "This conversation has ended", None)
    if request.state is RequestState.assigned:
        return ChildStatus("listening", "Someone is listening", None)
    now = clock.now()
    if not routing.on_duty(session, now):
        return ChildStatus(
            "nobody_on_duty",
            "Nobody is on duty right now; your message is kept and a supervisor will see it",
            None,
        )
    seconds = settings.t1_seconds.get(request.urgency.value)
    expected = None
    if seconds is not None:
        expected = max(request.created_at + timedelta(seconds=seconds), now)
    return ChildStatus("waiting", "Waiting for someone to listen", expected)


def child_age(session: Session, request: HelpRequest) -> int | None:
    from voicebridge.schools.models import Child

    child = session.get(Child, request.child_id)
    if child is None:
        return None
    return max(0, clock.now().year - child.birth_year)


def is_play_start(range_header: str | None) -> bool:
    """A play is a request for the whole recording or its start; seeks and resumes are not."""
    if not range_header:
        return True
    value = range_header.strip().replace(" ", "")
    return value.startswith("bytes=0-")


def _playable(session: Session, asset_id: uuid.UUID | None) -> AudioAsset:
    asset = session.get(AudioAsset, asset_id) if asset_id is not None else None
    if asset is None or asset.playable_key is None:
        raise NotFound("No recording to play")
    return asset


def request_audio(
    session: Session, request: HelpRequest, listener: User, *, new_play: bool
) -> AudioAsset:
    """The child's recorded request; the first play by a person marks it heard."""
    asset = _playable(session, request.audio_asset_id)
    if new_play:
        log_access(session, request.id, listener.id, "play_request_audio")
        if request.heard_at is None and listener.id != request.child_id:
            request.heard_at = clock.now()
            session.add(request)
            session.flush()
    return asset


def message_audio(
    session: Session,
    request: HelpRequest,
    message_id: uuid.UUID,
    listener: User,
    *,
    child_view: bool,
    new_play: bool,
) -> AudioAsset:
    """A voice message in the case; the child hears only what reached them."""
    message = session.get(HelpMessage, message_id)
    if message is None or message.request_id != request.id or message.audio_asset_id is None:
        raise NotFound("No such voice message")
    if child_view and message.state is not MessageState.visible:
        raise NotFound("No such voice message")
    asset = _playable(session, message.audio_asset_id)
    if new_play:
        log_access(session, request.id, listener.id, "play_message_audio")
    return asset


def _utc(value: datetime | None) -> datetime | None:
    """A filter time without a zone is read as UTC (stored times are UTC)."""
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput("A time outside what can be stored") from exc


def access_log(
    session: Session,
    *,
    request_id: uuid.UUID | None,
    reader_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[CaseAccessLog], str | None]:
    """Newest first, keyset-paged like every other list."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since > until:
        raise InvalidInput("since is after until")
    stmt = select(CaseAccessLog)
    if request_id is not None:
        stmt = stmt.where(CaseAccessLog.request_id == request_id)
    if reader_id is not None:
        stmt = stmt.where(CaseAccessLog.user_id == reader_id)
    if since is not None:
        stmt = stmt.where(col(CaseAccessLog.at) >= since)
    if until is not None:
        stmt = stmt.where(col(CaseAccessLog.at) < until)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                col(CaseAccessLog.at) < at,
                and_(col(CaseAccessLog.at) == at, col(CaseAccessLog.id) < last_id),
            )
        )
    stmt = stmt.order_by(col(CaseAccessLog.at).desc(), col(CaseAccessLog.id).desc())
    rows = list(session.exec(stmt.limit(limit + 1)).all())
    page, more = rows[:limit], len(rows) > limit
    return page, (encode_cursor(page[-1].at, page[-1].id) if more and page else None)


def earlier_cases(session: Session, request: HelpRequest) -> list[HelpRequest]:
    """The child's earlier requests held by this case's psychologist, newest first: what
    was said and agreed before, so the child need not tell it all again. Empty while
    nobody holds the case; the caller filters by what the reader may read."""
    if request.psychologist_id is None:
        return []
    return list(
        session.exec(
            select(HelpRequest)
            .where(
                HelpRequest.child_id == request.child_id,
                HelpRequest.psychologist_id == request.psychologist_id,
                HelpRequest.id != request.id,
                col(HelpRequest.created_at) < request.created_at,
            )
            .order_by(col(HelpRequest.created_at).desc())
            .limit(50)
        ).all()
    )
