"""HTTP for threads and messages: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import Response
from sqlmodel import Session

from voicebridge.accounts.models import User
from voicebridge.audio.playback import audio_response
from voicebridge.auth.deps import CurrentPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.messages import progress, service
from voicebridge.messages import purpose as _purpose  # noqa: F401  (registers "message")
from voicebridge.messages.deps import (
    HeardMessage,
    ListenableMessage,
    ParticipantThread,
    SentMessage,
    VisibleMessage,
)
from voicebridge.messages.models import Message
from voicebridge.messages.schemas import (
    ListenerReceipt,
    MessageDetail,
    MessagePage,
    MessagePublic,
    ProgressPublic,
    ProgressReport,
    QuietChild,
    Receipt,
    ThreadOpen,
    ThreadPage,
    ThreadPublic,
)
from voicebridge.pagination import DEFAULT_LIMIT, MAX_LIMIT
from voicebridge.schools.deps import ManagedSchool, ViewableChild
from voicebridge.storage.deps import StoreDep
from voicebridge.transcripts import store as transcript_store
from voicebridge.transcripts.schemas import TranscriptPublic

router = APIRouter(tags=["messages"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _thread_out(row: service.InboxRow) -> ThreadPublic:
    thread = row.thread
    return ThreadPublic(
        id=thread.id,
        kind=thread.kind,
        child_id=thread.child_id,
        child_name=row.child.given_name,
        guardian_id=thread.guardian_id,
        school_id=thread.school_id,
        peer_name=row.peer_name,
        unread=row.unread,
        last_message_at=thread.last_message_at,
        created_at=thread.created_at,
    )


def _messages_out(
    session: Session, user: User, messages: list[Message], *, detail: bool = False
) -> list[MessageDetail]:
    listens = service.listens_of(session, user, [m.id for m in messages])
    assets, names = service.assets_and_senders(session, messages)
    transcripts = transcript_store.for_assets(session, [m.asset_id for m in messages])
    out = []
    for message in messages:
        asset = assets[message.asset_id]
        listen = listens.get(message.id)
        own = message.sender_id == user.id
        out.append(
            MessageDetail(
                id=message.id,
                thread_id=message.thread_id,
                sender_id=message.sender_id,
                sender_name=names.get(message.sender_id, ""),
                caption=message.caption,
                state=service.display_state(message, asset),
                failure_type=message.failure_type if own else None,
                failure_detail=message.failure_detail if own else None,
                asset_id=message.asset_id if own else None,
                duration_ms=asset.duration_ms,
                created_at=message.created_at,
                ready_at=message.ready_at,
                position_ms=listen.position_ms if listen else 0,
                heard=listen is not None,
                transcript=TranscriptPublic.of(transcripts.get(message.asset_id)),
                peaks=asset.peaks if detail else [],
            )
        )
    return out


@router.get("/threads")
def inbox(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ThreadPage:
    rows, next_cursor = service.inbox(session, principal.user, cursor, limit)
    return ThreadPage(items=[_thread_out(r) for r in rows], next_cursor=next_cursor)


@router.post("/children/{child_id}/thread")
def open_thread(
    child: ViewableChild,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: Annotated[ThreadOpen | None, Body()] = None,
) -> ThreadPublic:
    thread = service.open_thread(session, principal.user, child, body.guardian_id if body else None)
    return _thread_out(service.inbox_row(session, principal.user, thread, child))


@router.get("/threads/{thread_id}/messages")
def list_messages(
    thread: ParticipantThread,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Only messages whose caption or machine-made transcript contains this",
        ),
    ] = None,
) -> MessagePage:
    messages, next_cursor = service.list_messages(
        session, principal.user, thread, cursor, limit, search=q
    )
    items = _messages_out(session, principal.user, messages)
    return MessagePage(
        items=[MessagePublic.model_validate(m.model_dump(exclude={"peaks"})) for m in items],
        next_cursor=next_cursor,
    )


@router.get("/messages/{message_id}")
def get_message(
    message: VisibleMessage, principal: CurrentPrincipal, session: SessionDep
) -> MessageDetail:
    return _messages_out(session, principal.user, [message], detail=True)[0]


@router.delete("/messages/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_message(message: SentMessage, session: SessionDep) -> Response:
    service.delete_message(session, message)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/messages/{message_id}/audio",
    response_class=Response,
    responses={
        206: {"description": "Part of the Ogg/Opus recording (local store)"},
        307: {"description": "Redirect to a short-lived presigned URL (S3)"},
        416: {"description": "Range not satisfiable"},
    },
)
def message_audio(
    request: Request,
    message: ListenableMessage,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    asset = service.playable_asset(session, message)
    return audio_response(request, store, settings, asset)


@router.post("/messages/{message_id}/progress")
def report_progress(
    body: ProgressReport, message: HeardMessage, principal: CurrentPrincipal, session: SessionDep
) -> ProgressPublic:
    asset = service.asset_of(session, message)
    listen = progress.record_progress(session, principal.user, message, asset, body)
    return ProgressPublic(
        message_id=message.id,
        position_ms=listen.position_ms,
        heard_ms=listen.heard_ms,
        duration_ms=asset.duration_ms or 0,
        plays=listen.plays,
        completed=listen.completed_at is not None,
        heard=listen.heard,
    )


@router.get("/messages/{message_id}/receipt")
def get_receipt(message: SentMessage, session: SessionDep) -> Receipt:
    asset = service.asset_of(session, message)
    summary = progress.receipt(session, message)
    return Receipt(
        message_id=message.id,
        heard_ms=summary.heard_ms,
        duration_ms=asset.duration_ms or 0,
        plays=summary.plays,
        first_heard_at=summary.first_heard_at,
        last_heard_at=summary.last_heard_at,
        completed=summary.completed,
        listeners=[
            ListenerReceipt(
                listener_id=x.listen.listener_id,
                listener_name=x.name,
                heard_ms=x.listen.heard_ms,
                plays=x.listen.plays,
                completed=x.listen.completed_at is not None,
                first_heard_at=x.listen.first_heard_at,
                last_heard_at=x.listen.last_heard_at,
            )
            for x in summary.listeners
        ],
    )


@router.get("/schools/{school_id}/quiet-children")
def quiet_children(
    school: ManagedSchool,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=365)] = 14,
) -> list[QuietChild]:
    return [
        QuietChild(
            child_id=row.child.id,
            given_name=row.child.given_name,
            family_name=row.child.family_name,
            class_id=row.child.class_id,
            class_name=row.class_name,
            active_guardians=row.active_guardians,
            last_family_message_at=row.last_family_message_at,
            days_quiet=row.days_quiet,
        )
        for row in service.quiet_children(session, school, days)
    ]
