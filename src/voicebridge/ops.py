"""Liveness, readiness and metrics endpoints, and the middleware that feeds them."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from voicebridge.errors import problem_response
from voicebridge.logs import request_id_var

log = logging.getLogger("voicebridge.http")
# A client's own request id is echoed only when it is a plain token.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
router = APIRouter(tags=["operations"])


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "voicebridge_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.unhandled = Counter(
            "voicebridge_http_unhandled_errors_total",
            "Requests that ended in an unexpected exception (answered 500)",
            ["method", "route", "exception"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "voicebridge_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_db(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    failures: dict[str, str] = {}
    try:
        await run_in_threadpool(_check_db, request.app.state.engine)
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        failures["database"] = type(exc).__name__
    try:
        await run_in_threadpool(request.app.state.store.check)
    except Exception as exc:  # noqa: BLE001
        failures["object_store"] = type(exc).__name__
    if failures:
        return problem_response(
            503,
            "not-ready",
            "Not ready",
            "A dependency is unavailable",
            request,
            extra={"checks": failures},
        )
    return Response('{"status":"ready"}', media_type="application/json")


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def _request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.state.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        metrics: Metrics = request.app.state.metrics
        try:
            response = await call_next(request)
        except Exception as exc:
            # Logged here, once, while the request id is still known; counted below
            # like any answer; the client gets the same id to quote.
            route_name = getattr(request.scope.get("route"), "path", "unmatched")
            log.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": request.method, "route": route_name},
            )
            metrics.unhandled.labels(request.method, route_name, type(exc).__name__).inc()
            response = problem_response(
                500,
                "internal",
                "Internal error",
                f"Something went wrong on our side; quote request id {request_id}",
                request,
            )
        finally:
            request_id_var.reset(token)
        elapsed = time.perf_counter() - started
        response.headers["X-Request-ID"] = request_id
        signed_in = "authorization" in request.headers or "x-device-token" in request.headers
        if request.url.path.startswith("/api/") and signed_in:
            # Children share devices: nothing a signed-in person saw may be cached.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        route = request.scope.get("route")
        route_name = getattr(route, "path", "unmatched")
        metrics.requests.labels(request.method, route_name, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route_name).observe(elapsed)
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 1),
            },
        )
        return response
