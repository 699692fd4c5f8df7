"""Opaque keyset cursors: (time, id) of the last row seen, base64 in the URL."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from voicebridge.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(at, str) or not isinstance(row_id, str):
            raise ValueError("cursor parts are strings")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive time")
        # Normalising here surfaces times that cannot be stored (year 1 or 9999 with an offset).
        return when.astimezone(UTC), uuid.UUID(row_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput("Invalid cursor") from exc
