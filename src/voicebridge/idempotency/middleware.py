"""The ``Idempotency-Key`` header on creating requests (POST under /api/v1)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from voicebridge.auth.passwords import hash_secret
from voicebridge.auth.tokens import decode_access_token
from voicebridge.config import Settings
from voicebridge.errors import DomainError, problem_response
from voicebridge.idempotency import service
from voicebridge.idempotency.service import Claim

HEADER = "idempotency-key"
# Visible ASCII: what clients make keys of (UUIDs, hashes); documented in OpenAPI.
KEY_PATTERN = r"^[!-~]{1,200}$"
# Only JSON bodies up to this size are hashed; uploads have their own resumption (tus).
MAX_HASHED_BODY = 1024 * 1024


def _scope(request: Request, settings: Settings) -> str | None:
    """Keys belong to a caller, so one family's key never answers another's request."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        try:
            return "user:" + str(decode_access_token(settings.auth, auth[7:]).user_id)
        except DomainError:
            return None  # the request itself will be refused with 401
    device = request.headers.get("x-device-token")
    if device:
        return "device:" + hash_secret(device)[:40]
    return "anonymous"


def _applies(request: Request) -> bool:
    if request.method != "POST" or not request.url.path.startswith("/api/v1/"):
        return False
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length")
    small = length is None or (length.isdigit() and int(length) <= MAX_HASHED_BODY)
    return small and (content_type == "" or content_type.startswith("application/json"))


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _idempotency(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        key = request.headers.get(HEADER)
        if key is None or not _applies(request):
            return await call_next(request)
        if not re.fullmatch(KEY_PATTERN, key):
            return problem_response(
                400,
                "invalid-idempotency-key",
                "Invalid Idempotency-Key",
                "An Idempotency-Key is 1 to 200 visible ASCII characters",
                request,
            )
        settings: Settings = request.app.state.settings
        scope = _scope(request, settings)
        if scope is None:
            return await call_next(request)
        body = await request.body()
        digest = hashlib.sha256(body).hexdigest()
        engine = request.app.state.engine
        path = request.url.path
        claimed = await run_in_threadpool(service.claim, engine, scope, key, "POST", path, digest)
        if claimed.outcome is Claim.mismatch:
            return problem_response(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This key was used for a different request",
                request,
            )
        if claimed.outcome is Claim.in_progress:
            return problem_response(
                409,
                "idempotency-in-progress",
                "Request in progress",
                "The first request with this key has not finished; retry shortly",
                request,
                headers={"Retry-After": "2"},
            )
        if claimed.outcome is Claim.replay:
            return Response(
                claimed.body or b"",
                status_code=claimed.status_code or 200,
                media_type=claimed.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        assert claimed.record_id is not None
        try:
            response = await call_next(request)
        except BaseException:
            await run_in_threadpool(service.release, engine, claimed.record_id)
            raise
        chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
        payload = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chunks)
        await run_in_threadpool(
            service.complete,
            engine,
            claimed.record_id,
            response.status_code,
            response.headers.get("content-type"),
            payload,
        )
        return Response(
            payload,
            status_code=response.status_code,
            headers={k: v for k, v in response.headers.items() if k != "content-length"},
        )
