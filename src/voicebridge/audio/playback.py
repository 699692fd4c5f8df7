"""Serving a recording: a presigned redirect on S3, Range responses from a local store.

On S3 the bytes never pass through the API; the client follows a short-lived
URL. The local store has no second server, so the API streams the file itself
and honours ``Range`` (players seek, and resume after a dropped connection).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from voicebridge.audio.models import AudioAsset
from voicebridge.config import Settings
from voicebridge.errors import problem_response
from voicebridge.storage.base import ObjectStore

AUDIO_TYPE = "audio/ogg"
_RANGE_RE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
# Past this a position is beyond any recording; int() of thousands of digits is refused.
_FAR = 1 << 62


def _position(raw: str) -> int:
    return int(raw) if len(raw) <= 18 else _FAR


class Unsatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One byte range as (first, last) inclusive, or None to send the whole object.

    Multiple ranges and malformed headers are ignored (RFC 9110 lets a server
    answer 200 with everything); a range past the end is ``Unsatisfiable``.
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    first_raw, last_raw = match.groups()
    if not first_raw and not last_raw:
        return None
    if not first_raw:
        suffix = _position(last_raw)
        if suffix == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    first = _position(first_raw)
    if last_raw and _position(last_raw) < first:
        return None
    if first >= size:
        raise Unsatisfiable
    last = _position(last_raw) if last_raw else size - 1
    return first, min(last, size - 1)


def audio_response(
    request: Request, store: ObjectStore, settings: Settings, asset: AudioAsset
) -> Response:
    key = asset.playable_key
    assert key is not None
    url = store.presigned_get_url(key, settings.storage.presign_seconds, content_type=AUDIO_TYPE)
    if url is not None:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    size = asset.playable_size
    if size is None:
        info = store.head(key)
        size = info.size if info is not None else 0
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=300"}
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except Unsatisfiable:
        return problem_response(
            416,
            "range-not-satisfiable",
            "Range not satisfiable",
            f"The recording has {size} bytes",
            request,
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    if wanted is None:
        body: Iterator[bytes] = store.open_range(key)
        headers["Content-Length"] = str(size)
        return StreamingResponse(body, status_code=200, media_type=AUDIO_TYPE, headers=headers)
    first, last = wanted
    body = store.open_range(key, first, last)
    headers["Content-Length"] = str(last - first + 1)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(body, status_code=206, media_type=AUDIO_TYPE, headers=headers)
