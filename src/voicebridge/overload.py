"""Shedding load: an overloaded API process answers 503 with ``Retry-After`` in
milliseconds, instead of queueing until every request times out as a 500.

Two guards, both per process:

* an in-flight limit (``server.max_in_flight``): a request beyond it is
  refused before any work; uploads (long streams that must not be cut off by
  a burst of short reads) and the health and metrics endpoints are not
  counted;
* a short database pool timeout (``db.pool_timeout_seconds``): a request that
  cannot get a connection in time is answered 503, not 500 after 30 s.

Both say ``Retry-After``; the client's next try usually finds room, so the
service recovers by itself when the burst passes.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from voicebridge import metrics
from voicebridge.config import ServerSettings
from voicebridge.errors import problem_response

SLUG = "overloaded"
TITLE = "Busy: try again shortly"
# Not counted: streams that run for minutes, and what probes and Prometheus call.
EXEMPT_PREFIXES = ("/api/v1/uploads", "/healthz", "/readyz", "/metrics")


def busy_response(request: Request, retry_after: int, detail: str) -> JSONResponse:
    return problem_response(
        503, SLUG, TITLE, detail, request, headers={"Retry-After": str(retry_after)}
    )


class InFlightLimit:
    """Pure ASGI, so a refused request costs no middleware stack or thread."""

    def __init__(self, app: ASGIApp, limit: int, retry_after: int) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            metrics.LOAD_SHED.labels("in_flight").inc()
            response = busy_response(
                Request(scope),
                self.retry_after,
                f"More than {self.limit} requests are in progress here",
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def install(app: FastAPI, settings: ServerSettings) -> None:
    app.add_middleware(
        InFlightLimit, limit=settings.max_in_flight, retry_after=settings.retry_after_seconds
    )

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        metrics.LOAD_SHED.labels("db_pool").inc()
        return busy_response(
            request, settings.retry_after_seconds, "No database connection was free in time"
        )
