"""Work that follows a message: removing deleted audio. (Telling people is notifications')."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlmodel import Session, select

from voicebridge.audio.models import AudioAsset
from voicebridge.jobs.registry import JobContext, PermanentJobError, job_handler
from voicebridge.messages import purpose as _purpose  # noqa: F401  (registers "message")
from voicebridge.messages.models import Message
from voicebridge.messages.service import PURGE_JOB

log = logging.getLogger(__name__)


def _id(payload: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError(f"payload needs a valid {key}") from exc


@job_handler(PURGE_JOB)
def purge_audio(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Deletes a deleted message's objects; keys are cleared only after the store
    said yes, so a crash in between retries the (idempotent) deletes."""
    asset_id = _id(payload, "asset_id")
    with Session(ctx.engine) as session:
        asset = session.get(AudioAsset, asset_id)
        if asset is None:
            return
        owner = session.exec(select(Message).where(Message.asset_id == asset.id)).first()
        if owner is not None and owner.deleted_at is None:
            raise PermanentJobError("refusing to purge the audio of a message not deleted")
        for key in (asset.playable_key, asset.original_key):
            if key:
                ctx.store.delete(key)
        asset.playable_key = None
        asset.original_key = None
        session.add(asset)
        session.commit()
