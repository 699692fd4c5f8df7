"""Recorded help requests and voice messages, made the way the upload pipeline makes them:
an asset, a real Opus object in the store, and the help purpose hooks called in order."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from tests.messages.helpers import opus_recording
from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.help.models import HelpMessage, HelpRequest
from voicebridge.storage.base import new_key
from voicebridge.uploads.purposes import PURPOSES


def _ready(session: Session, store: Any, asset: AudioAsset) -> None:
    opus = opus_recording()
    original, playable = new_key("original", "m4a"), new_key("playable", "ogg")
    store.put_bytes(original, b"original upload bytes", "audio/mp4")
    info = store.put_file(playable, opus.path, "audio/ogg")
    asset.original_key, asset.playable_key = original, playable
    asset.playable_size = info.size
    asset.playable_sha256 = opus.result.sha256
    asset.duration_ms = opus.result.duration_ms
    asset.state = AssetState.ready
    asset.ready_at = clock.now()
    session.add(asset)
    session.flush()


def record_request(session: Session, store: Any, child: User, request: HelpRequest) -> AudioAsset:
    """The child's recording attached to their request and ready to play."""
    purpose = PURPOSES["help_request"]
    metadata = {"request_id": str(request.id)}
    purpose.authorize(session, child, metadata)
    asset = AudioAsset(owner_id=child.id, purpose="help_request")
    session.add(asset)
    session.flush()
    purpose.on_created(session, child, asset, metadata)
    _ready(session, store, asset)
    purpose.on_ready(session, asset)
    return asset


def voice_message(session: Session, store: Any, sender: User, request: HelpRequest) -> HelpMessage:
    """A voice message in the case, ready and visible."""
    purpose = PURPOSES["help_message"]
    metadata = {"case_id": str(request.id)}
    purpose.authorize(session, sender, metadata)
    asset = AudioAsset(owner_id=sender.id, purpose="help_message")
    session.add(asset)
    session.flush()
    purpose.on_created(session, sender, asset, metadata)
    _ready(session, store, asset)
    purpose.on_ready(session, asset)
    return session.exec(select(HelpMessage).where(HelpMessage.audio_asset_id == asset.id)).one()
