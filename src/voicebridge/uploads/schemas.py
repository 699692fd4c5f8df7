"""Answers of the upload routes that are not tus headers."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from voicebridge.audio.models import AssetState


class SingleUploadPublic(BaseModel):
    asset_id: uuid.UUID
    state: AssetState
    size: int
