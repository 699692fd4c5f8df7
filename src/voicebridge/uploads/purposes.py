"""What an upload is for. Each domain that takes recordings registers a purpose.

A tus client names the purpose in ``Upload-Metadata`` (``purpose=message``,
plus the purpose's own keys such as ``thread_id``). The uploads domain asks the
purpose whether the caller may upload (``authorize``), lets it create its row
when the upload starts (``on_created``), and tells it when the audio became
playable (``on_ready``) or could not be used (``on_failed``). All four run in
the caller's transaction (or the processing job's), so a domain row and its
asset change together or not at all.
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset


class UploadPurpose(Protocol):
    name: str

    def authorize(self, session: Session, user: User, metadata: dict[str, str]) -> None:
        """Raise NotFound / Forbidden / InvalidInput when ``user`` may not upload this."""

    def on_created(
        self, session: Session, user: User, asset: AudioAsset, metadata: dict[str, str]
    ) -> None: ...

    def on_ready(self, session: Session, asset: AudioAsset) -> None: ...

    def on_failed(self, session: Session, asset: AudioAsset) -> None: ...


PURPOSES: dict[str, UploadPurpose] = {}


def register_purpose(purpose: UploadPurpose) -> UploadPurpose:
    if purpose.name in PURPOSES and PURPOSES[purpose.name] is not purpose:
        raise RuntimeError(f"upload purpose {purpose.name!r} registered twice")
    PURPOSES[purpose.name] = purpose
    return purpose
