"""The "message" upload purpose: how an upload becomes a voice message in a thread.

The uploads domain calls these hooks in its own transactions (the request that
starts an upload, the job that finishes processing it), so the message row and
its asset always change together. Tests call the same hooks directly.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.auth import policy
from voicebridge.errors import InvalidInput, NotFound
from voicebridge.messages.models import CAPTION_MAX, Message, MessageState, Thread
from voicebridge.messages.service import enqueue_purge
from voicebridge.notifications import events as notify
from voicebridge.uploads.purposes import register_purpose


def _thread_for(session: Session, user: User, metadata: dict[str, str]) -> Thread:
    raw = metadata.get("thread_id")
    if not raw:
        raise InvalidInput("Upload-Metadata needs thread_id for a message")
    try:
        thread_id = uuid.UUID(raw)
    except ValueError as exc:
        raise InvalidInput("thread_id is not a valid id") from exc
    thread = session.get(Thread, thread_id)
    if thread is None or not policy.is_thread_participant(session, user, thread):
        raise NotFound("No such thread")
    return thread


def _caption(metadata: dict[str, str]) -> str | None:
    caption = (metadata.get("caption") or "").strip()
    if len(caption) > CAPTION_MAX:
        raise InvalidInput(f"A caption holds at most {CAPTION_MAX} characters")
    return caption or None


def message_for_asset(session: Session, asset: AudioAsset) -> Message | None:
    return session.exec(select(Message).where(Message.asset_id == asset.id)).first()


class MessagePurpose:
    name = "message"

    def authorize(self, session: Session, user: User, metadata: dict[str, str]) -> None:
        _thread_for(session, user, metadata)
        _caption(metadata)

    def may_complete(self, session: Session, user: User, asset: AudioAsset) -> bool:
        """Asked when the last byte arrives: the sender must still be in the thread."""
        message = message_for_asset(session, asset)
        if message is None:
            return False
        thread = session.get(Thread, message.thread_id)
        return thread is not None and policy.is_thread_participant(session, user, thread)

    def on_created(
        self, session: Session, user: User, asset: AudioAsset, metadata: dict[str, str]
    ) -> None:
        thread = _thread_for(session, user, metadata)
        session.add(
            Message(
                thread_id=thread.id,
                sender_id=user.id,
                asset_id=asset.id,
                caption=_caption(metadata),
                state=MessageState.uploading,
            )
        )
        session.flush()

    def on_ready(self, session: Session, asset: AudioAsset) -> None:
        """Idempotent: a retried processing job finds the message ready and stops."""
        message = message_for_asset(session, asset)
        if message is None or message.state is MessageState.ready:
            return
        if message.deleted_at is not None:
            # Deleted while it was still processing: its fresh objects go too.
            enqueue_purge(session, asset.id)
            return
        now = clock.now()
        message.state = MessageState.ready
        message.ready_at = asset.ready_at or now
        message.failure_type = message.failure_detail = None
        session.add(message)
        thread = session.get(Thread, message.thread_id)
        if thread is not None:
            thread.last_message_at = message.ready_at
            thread.activity_at = max(thread.activity_at, message.ready_at)
            session.add(thread)
            notify.message_ready(session, message, thread)
        session.flush()

    def on_failed(self, session: Session, asset: AudioAsset) -> None:
        message = message_for_asset(session, asset)
        if message is None or message.state is MessageState.ready:
            return
        message.state = MessageState.failed
        message.failure_type = asset.failure_type or "processing-failed"
        message.failure_detail = asset.failure_detail or "The recording could not be processed"
        session.add(message)
        session.flush()


MESSAGE_PURPOSE = register_purpose(MessagePurpose())
