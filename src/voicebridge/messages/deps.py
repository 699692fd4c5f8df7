"""Loaders for threads and messages: fetch, apply the access policy, or answer 404.

A thread or message the caller does not take part in is "not found", never
"forbidden", so other families and other schools cannot learn that it exists.
403 is kept for participants asking for something only the sender may do.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from voicebridge.auth import policy
from voicebridge.auth.deps import CurrentPrincipal
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, NotFound
from voicebridge.messages.models import Message, Thread


def participant_thread(
    thread_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Thread:
    thread = session.get(Thread, thread_id)
    if thread is None or not policy.is_thread_participant(session, principal.user, thread):
        raise NotFound("No such thread")
    return thread


def _message_and_thread(session: SessionDep, message_id: uuid.UUID) -> tuple[Message, Thread]:
    message = session.get(Message, message_id)
    thread = session.get(Thread, message.thread_id) if message is not None else None
    if message is None or thread is None:
        raise NotFound("No such message")
    return message, thread


def visible_message(
    message_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Message:
    message, thread = _message_and_thread(session, message_id)
    if not policy.can_see_message(session, principal.user, thread, message):
        raise NotFound("No such message")
    return message


def listenable_message(
    message_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Message:
    message, thread = _message_and_thread(session, message_id)
    if not policy.can_listen(session, principal.user, thread, message):
        raise NotFound("No such message")
    return message


def heard_message(
    message: Annotated[Message, Depends(listenable_message)], principal: CurrentPrincipal
) -> Message:
    """Progress comes from listeners; a sender replaying their own message is not a receipt."""
    if policy.is_message_sender(principal.user, message):
        raise Forbidden("Progress is reported by the listener, not the sender")
    return message


def sent_message(
    message: Annotated[Message, Depends(visible_message)], principal: CurrentPrincipal
) -> Message:
    if not policy.is_message_sender(principal.user, message):
        raise Forbidden("Only the sender can do that")
    return message


ParticipantThread = Annotated[Thread, Depends(participant_thread)]
VisibleMessage = Annotated[Message, Depends(visible_message)]
ListenableMessage = Annotated[Message, Depends(listenable_message)]
HeardMessage = Annotated[Message, Depends(heard_message)]
SentMessage = Annotated[Message, Depends(sent_message)]
