"""Voice recordings for help requests and case messages, through the shared upload path.

``help_request`` (metadata ``request_id``) attaches the child's recording to
their own request; ``help_message`` (metadata ``case_id``) adds a voice message
to a case. A message is created when the upload starts and shows once the audio
is ready; a volunteer's voice cannot be scanned for contact details, so it goes
out like text that passed review.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.auth import policy
from voicebridge.config import get_settings
from voicebridge.errors import Conflict, InvalidInput, NotFound
from voicebridge.help import service
from voicebridge.help.models import HelpMessage, HelpRequest, MessageState, RequestState
from voicebridge.live import events as live
from voicebridge.uploads.purposes import register_purpose


def _id(metadata: dict[str, str], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(metadata[key])
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"Upload-Metadata needs a valid {key}") from exc


class HelpRequestRecording:
    name = "help_request"

    def _request(self, session: Session, user: User, metadata: dict[str, str]) -> HelpRequest:
        request = session.get(HelpRequest, _id(metadata, "request_id"))
        if request is None or request.child_id != user.id:
            raise NotFound("No such help request")
        return request

    def authorize(self, session: Session, user: User, metadata: dict[str, str]) -> None:
        request = self._request(session, user, metadata)
        if request.audio_asset_id is not None:
            raise Conflict("This request already has a recording")
        if request.state is RequestState.closed:
            raise Conflict("The case is closed")

    def on_created(
        self, session: Session, user: User, asset: AudioAsset, metadata: dict[str, str]
    ) -> None:
        request = self._request(session, user, metadata)
        request.audio_asset_id = asset.id
        request.voice = True
        session.add(request)
        session.flush()

    def on_ready(self, session: Session, asset: AudioAsset) -> None:
        """Nothing to flip: the request was routed already; the recording is now playable."""

    def on_failed(self, session: Session, asset: AudioAsset) -> None:
        request = session.exec(
            select(HelpRequest).where(HelpRequest.audio_asset_id == asset.id)
        ).first()
        if request is not None:
            # Let the child try again; the request itself stays in the queue.
            request.audio_asset_id = None
            session.add(request)
            session.flush()


class HelpMessageRecording:
    name = "help_message"

    def authorize(self, session: Session, user: User, metadata: dict[str, str]) -> None:
        request = session.get(HelpRequest, _id(metadata, "case_id"))
        if request is None or not policy.can_message_in_case(session, user, request):
            raise NotFound("No such case")
        if request.state is RequestState.closed:
            raise Conflict("The case is closed")

    def on_created(
        self, session: Session, user: User, asset: AudioAsset, metadata: dict[str, str]
    ) -> None:
        self.authorize(session, user, metadata)
        request = session.get(HelpRequest, _id(metadata, "case_id"))
        assert request is not None
        service.post_message(
            session, get_settings().help, request, user, text=None, audio_asset_id=asset.id
        )

    def _message(self, session: Session, asset: AudioAsset) -> HelpMessage | None:
        return session.exec(
            select(HelpMessage).where(HelpMessage.audio_asset_id == asset.id)
        ).first()

    def on_ready(self, session: Session, asset: AudioAsset) -> None:
        message = self._message(session, asset)
        if message is None or message.state is not MessageState.processing:
            return
        message.state = MessageState.visible
        session.add(message)
        request = session.get(HelpRequest, message.request_id)
        if request is not None and not message.from_child and request.first_response_at is None:
            request.first_response_at = asset.ready_at or message.created_at
            session.add(request)
        session.flush()
        if request is not None:
            live.case_message(session, message, request)

    def on_failed(self, session: Session, asset: AudioAsset) -> None:
        message = self._message(session, asset)
        if message is not None and message.state is MessageState.processing:
            message.state = MessageState.failed
            session.add(message)
            session.flush()


register_purpose(HelpRequestRecording())
register_purpose(HelpMessageRecording())
