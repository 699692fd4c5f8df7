"""Voice messages made the way the upload pipeline makes them: an asset, a real Opus
object in the store, and the "message" purpose hooks called in order."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from tests.audio.make import make_recording
from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.audio.transcode import AudioResult, transcode
from voicebridge.messages.models import Message, Thread
from voicebridge.messages.purpose import MESSAGE_PURPOSE, message_for_asset
from voicebridge.storage.base import new_key


@dataclass(frozen=True)
class Opus:
    path: Path
    result: AudioResult

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


@functools.cache
def opus_recording(seconds: float = 4.0) -> Opus:
    """A real phone-style recording transcoded to the stored format, made once per run."""
    folder = Path(tempfile.mkdtemp(prefix="vb-messages-"))
    source = make_recording(folder / "phone.m4a", "m4a", seconds)
    result = transcode(source, folder / "playable.ogg")
    return Opus(folder / "playable.ogg", result)


def start_message(
    session: Session, sender: User, thread: Thread, caption: str | None = None
) -> tuple[Message, AudioAsset]:
    asset = AudioAsset(owner_id=sender.id, purpose="message")
    session.add(asset)
    session.flush()
    metadata = {"thread_id": str(thread.id)}
    if caption is not None:
        metadata["caption"] = caption
    MESSAGE_PURPOSE.authorize(session, sender, metadata)
    MESSAGE_PURPOSE.on_created(session, sender, asset, metadata)
    message = message_for_asset(session, asset)
    assert message is not None
    return message, asset


def finish_message(session: Session, store: Any, asset: AudioAsset, opus: Opus) -> None:
    """What the processing job does once the playable object is verified in the store."""
    original = new_key("original", "m4a")
    playable = new_key("playable", "ogg")
    store.put_bytes(original, b"original upload bytes", "audio/mp4")
    info = store.put_file(playable, opus.path, "audio/ogg")
    asset.original_key = original
    asset.playable_key = playable
    asset.playable_size = info.size
    asset.playable_sha256 = opus.result.sha256
    asset.duration_ms = opus.result.duration_ms
    asset.peaks = opus.result.peaks
    asset.state = AssetState.ready
    asset.ready_at = clock.now()
    session.add(asset)
    session.flush()
    MESSAGE_PURPOSE.on_ready(session, asset)


def ready_message(
    session: Session, store: Any, sender: User, thread: Thread, caption: str | None = None
) -> Message:
    message, asset = start_message(session, sender, thread, caption)
    finish_message(session, store, asset, opus_recording())
    session.refresh(message)
    return message
