"""The tus 1.0 endpoints (core, creation, creation-with-upload, termination,
expiration, checksum) and a one-request upload for short clips."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from voicebridge import metrics
from voicebridge.audio.models import AssetState
from voicebridge.auth.deps import CurrentPrincipal, SettingsDep
from voicebridge.config import Settings
from voicebridge.errors import DomainError, InvalidInput, problem_response
from voicebridge.idempotency import middleware as idempotency
from voicebridge.idempotency.service import Answer
from voicebridge.openapi import problems
from voicebridge.uploads import ingest as ingest_mod
from voicebridge.uploads import service
from voicebridge.uploads.deps import IngestDep
from voicebridge.uploads.ingest import Checksum
from voicebridge.uploads.models import Upload
from voicebridge.uploads.schemas import SingleUploadPublic

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
OCTET_STREAM = "application/offset+octet-stream"


class TusRoute(APIRoute):
    """Every tus answer, errors included, must say ``Tus-Resumable``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except DomainError as exc:
                response = problem_response(
                    exc.status, exc.slug, exc.title, exc.detail, request, exc.headers, exc.extra
                )
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return handler


class TusVersionUnsupported(DomainError):
    status = 412
    slug = "tus-version-unsupported"
    title = "Tus-Resumable 1.0.0 is required"

    def __init__(self) -> None:
        super().__init__(headers={"Tus-Version": TUS_VERSION})


class UnsupportedRecordingType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Not a recording"


class NotOctetStream(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = f"Content-Type must be {OCTET_STREAM}"


router = APIRouter(prefix="/uploads", tags=["uploads"], route_class=TusRoute)


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusVersionUnsupported()


_COUNT = re.compile(r"[0-9]{1,18}")


def _int_header(request: Request, name: str) -> int:
    raw = request.headers.get(name)
    if raw is None or not _COUNT.fullmatch(raw):
        raise InvalidInput(f"{name} must be a whole number of bytes (1 to 18 digits)", field=name)
    return int(raw)


def _state_headers(upload: Upload) -> dict[str, str]:
    return {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": upload.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Asset-Id": str(upload.asset_id),
        "Cache-Control": "no-store",
    }


def _capabilities(settings: Settings) -> Response:
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.uploads.max_bytes),
            "Tus-Checksum-Algorithm": ",".join(ingest_mod.CHECKSUMS),
        },
    )


@router.options("", status_code=status.HTTP_204_NO_CONTENT)
def tus_options(settings: SettingsDep) -> Response:
    """tus discovery: the version, extensions, size limit and checksum algorithms."""
    return _capabilities(settings)


@router.options("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
def tus_options_upload(upload_id: uuid.UUID, settings: SettingsDep) -> Response:
    """The same discovery, asked of an upload's URL (tus clients do either)."""
    return _capabilities(settings)


@router.post("", status_code=status.HTTP_201_CREATED)
async def tus_create(request: Request, principal: CurrentPrincipal, ingest: IngestDep) -> Response:
    _require_tus(request)
    if request.headers.get("upload-defer-length"):
        raise InvalidInput("Upload-Defer-Length is not supported")
    length = _int_header(request, "upload-length")
    metadata = service.decode_metadata(request.headers.get("upload-metadata"))
    has_body = request.headers.get("content-type", "").startswith(OCTET_STREAM)
    keyed = idempotency.pending(request)

    def _location(upload: Upload) -> str:
        # Absolute (RFC 9110 allows relative, but `curl -X PATCH "$LOCATION"` and some
        # tus clients do not resolve one); behind a proxy, uvicorn's proxy headers apply.
        base = str(request.url.replace(query=None, fragment=None)).rstrip("/")
        return f"{base}/{upload.id}"

    def _record(session: Session, upload: Upload) -> None:
        # A keyed creation without a body: its answer commits with the upload, so a
        # retry after a crash replays this Location instead of making a second upload.
        if keyed is not None and not has_body:
            headers = {**_state_headers(upload), "Location": _location(upload)}
            headers["Tus-Resumable"] = TUS_VERSION
            keyed.record_now(session, Answer(201, None, headers, b"", False))

    upload = await run_in_threadpool(ingest.create, principal.id, length, metadata, _record)
    if has_body:
        checksum = Checksum.parse(request.headers.get("upload-checksum"))
        upload = await ingest.receive(request.stream(), upload.id, principal.id, 0, checksum)
        _count(upload, 0)
    headers = _state_headers(upload)
    headers["Location"] = _location(upload)
    return Response(status_code=status.HTTP_201_CREATED, headers=headers)


# Media types a phone or browser labels a recording with; anything else (a form,
# JSON, text) is refused before a byte is stored.
_RAW_AUDIO = ("audio/", "video/", "application/octet-stream", "application/ogg")
_SINGLE_BODY = {
    "required": True,
    "description": "The recording's bytes as the request body (not a form); at most "
    "`uploads.single_request_max_bytes` (20 MiB by default). Longer recordings use tus.",
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in ("audio/*", "video/*", "application/octet-stream", "application/ogg")
    },
}
_SINGLE_QUERY = [
    {
        "name": "purpose",
        "in": "query",
        "required": True,
        "description": "What the recording is for",
        # The registered purposes, filled in when the document is made (voicebridge.openapi).
        "schema": {"type": "string", "enum": []},
    },
    *(
        {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
        for name, text, schema in (
            ("thread_id", "purpose=message: the thread", {"type": "string", "format": "uuid"}),
            ("caption", "purpose=message: a short caption", {"type": "string", "maxLength": 200}),
            ("story_id", "purpose=story_chapter: the story", {"type": "string", "format": "uuid"}),
            (
                "chapter_number",
                "purpose=story_chapter: 1 to 9999 (default: the next)",
                {"type": "integer", "minimum": 1, "maximum": 9999},
            ),
            ("chapter_title", "purpose=story_chapter", {"type": "string", "maxLength": 200}),
            (
                "request_id",
                "purpose=help_request: the child's request",
                {"type": "string", "format": "uuid"},
            ),
        )
    ),
]


@router.post(
    "/single",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": _SINGLE_BODY, "parameters": _SINGLE_QUERY},
    responses=problems(413, 415),
)
async def single_upload(
    request: Request, principal: CurrentPrincipal, ingest: IngestDep
) -> SingleUploadPublic:
    """A short clip in one request: the raw bytes are the body, the query is the metadata.

    The purpose decides which other keys it needs (``thread_id`` for a message,
    ``story_id`` for a chapter, ``request_id`` for a help request).
    """
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not content_type.startswith(_RAW_AUDIO):
        raise UnsupportedRecordingType(
            f"Send the recording's bytes as the body with its audio Content-Type "
            f"(e.g. audio/mp4), not {content_type or 'no Content-Type'}"
        )
    metadata = dict(request.query_params)
    metadata.setdefault("filetype", content_type)
    asset_id, size = await ingest_mod.receive_whole(
        ingest, request.stream(), principal.id, metadata
    )
    purpose = metadata.get("purpose", "")
    metrics.UPLOAD_BYTES.labels(purpose).inc(size)
    metrics.UPLOADS_COMPLETED.labels(purpose).inc()
    return SingleUploadPublic(asset_id=asset_id, state=AssetState.processing, size=size)


@router.head("/{upload_id}")
async def tus_head(
    upload_id: uuid.UUID, request: Request, principal: CurrentPrincipal, ingest: IngestDep
) -> Response:
    _require_tus(request)
    upload = await run_in_threadpool(ingest.load, upload_id, principal.id)
    return Response(status_code=status.HTTP_200_OK, headers=_state_headers(upload))


@router.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def tus_patch(
    upload_id: uuid.UUID, request: Request, principal: CurrentPrincipal, ingest: IngestDep
) -> Response:
    _require_tus(request)
    if not request.headers.get("content-type", "").startswith(OCTET_STREAM):
        raise NotOctetStream()
    offset = _int_header(request, "upload-offset")
    checksum = Checksum.parse(request.headers.get("upload-checksum"))
    upload = await ingest.receive(request.stream(), upload_id, principal.id, offset, checksum)
    _count(upload, offset)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_state_headers(upload))


def _count(upload: Upload, offset_before: int) -> None:
    """Bytes this request added (a purpose is a known name: the upload passed its check)."""
    metrics.UPLOAD_BYTES.labels(upload.purpose).inc(max(0, upload.offset - offset_before))
    if upload.offset == upload.length:
        metrics.UPLOADS_COMPLETED.labels(upload.purpose).inc()


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def tus_delete(
    upload_id: uuid.UUID, request: Request, principal: CurrentPrincipal, ingest: IngestDep
) -> Response:
    _require_tus(request)
    await ingest.wait_idle(upload_id)
    await run_in_threadpool(ingest.terminate, upload_id, principal.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
