"""An upload purpose for tests, registered on import (also by the subprocess servers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.errors import Forbidden
from voicebridge.uploads.purposes import PURPOSES, register_purpose


@dataclass
class RecordingPurpose:
    """A purpose that remembers its calls; ``deny=1`` in the metadata refuses."""

    name: str = "test"
    calls: list[tuple[str, str]] = field(default_factory=list)

    def authorize(self, session: Session, user: User, metadata: dict[str, str]) -> None:
        if metadata.get("deny"):
            raise Forbidden("not for you")

    def on_created(
        self, session: Session, user: User, asset: AudioAsset, metadata: dict[str, str]
    ) -> None:
        self.calls.append(("created", str(asset.id)))

    def on_ready(self, session: Session, asset: AudioAsset) -> None:
        self.calls.append(("ready", str(asset.id)))

    def on_failed(self, session: Session, asset: AudioAsset) -> None:
        self.calls.append(("failed", str(asset.id)))


if "test" not in PURPOSES:
    register_purpose(RecordingPurpose())
