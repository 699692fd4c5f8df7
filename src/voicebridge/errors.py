"""Domain exceptions and their RFC 9457 problem+json rendering.

Services raise these; one handler turns them into responses. Every problem has a
stable ``type`` URI under ``https://voicebridge.org/problems/`` that clients may
switch on; ``title`` is fixed per type, ``detail`` explains this occurrence.
"""

from __future__ import annotations

import errno
import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_BASE = "https://voicebridge.org/problems/"
PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        persist: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra
        # A failed guess (password, PIN, code) must still be counted although the
        # request fails: the session dependency commits instead of rolling back.
        self.persist = persist


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, *, persist: bool = False, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, persist=persist, **extra)


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Gone(DomainError):
    status = 410
    slug = "gone"
    title = "Gone"


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class TooManyAttempts(DomainError):
    status = 429
    slug = "too-many-attempts"
    title = "Too many attempts"

    def __init__(
        self, detail: str | None = None, *, retry_after: int = 60, persist: bool = False
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, persist=persist)


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class ServiceUnavailable(DomainError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class InsufficientStorage(DomainError):
    status = 507
    slug = "insufficient-storage"
    title = "Insufficient storage"


# Seconds a client waits before trying again after a dependency failed.
RETRY_AFTER_SECONDS = 30
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def infrastructure_problem(exc: BaseException) -> DomainError | None:
    """A failure of what the service stands on, as the answer a client can act on.

    The object store or the database out of reach is 503 with ``Retry-After``:
    the request changed nothing it did not record (an upload's offset counts
    only fsync'd bytes), so the client resumes later. A full disk is 507. None
    for anything else: that is a bug and stays a 500.
    """
    from sqlalchemy.exc import DBAPIError, OperationalError

    from voicebridge.storage.base import BadDigest, StoreError, StoreUnavailable

    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    # BadDigest: a part's bytes arrived changed; its part file stays, so a retry resends it.
    if type(exc) in (StoreError, StoreUnavailable, BadDigest):
        return ServiceUnavailable(
            "The recording store cannot be reached; try again shortly", headers=retry
        )
    if isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return ServiceUnavailable(
            "The database cannot be reached; try again shortly", headers=retry
        )
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return InsufficientStorage(
            "The server's disk is full; nothing was kept from this request, try again later",
            headers=retry,
        )
    return None


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    411: ("length-required", "Length required"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    416: ("range-not-satisfiable", "Range not satisfiable"),
    422: ("invalid-input", "Invalid input"),
    429: ("too-many-attempts", "Too many attempts"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, request, exc.headers, exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return problem_response(
            422,
            "invalid-input",
            "Invalid input",
            "The request did not match the expected shape",
            request,
            extra={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            exc.status_code, slug, title, detail, request, dict(exc.headers or {})
        )

    async def _infrastructure(request: Request, exc: Exception) -> JSONResponse:
        problem = infrastructure_problem(exc)
        if problem is None:
            raise exc
        log.warning(
            "dependency failure answered %s",
            problem.status,
            extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"[:500]},
        )
        return problem_response(
            problem.status, problem.slug, problem.title, problem.detail, request, problem.headers
        )

    from sqlalchemy.exc import DBAPIError

    from voicebridge.storage.base import StoreError

    for kind in (StoreError, DBAPIError, OSError):
        app.add_exception_handler(kind, _infrastructure)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Route errors are caught, logged and counted by the request middleware
        # (voicebridge.ops); this is the last resort for a failing middleware.
        request_id = getattr(request.state, "request_id", None)
        log.exception("unhandled error", extra={"request_id": request_id, "path": request.url.path})
        return problem_response(
            500, "internal", "Internal error", "Something went wrong on our side", request
        )
