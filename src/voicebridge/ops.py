"""Liveness, readiness and metrics endpoints, and the middleware that feeds them."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from voicebridge import metrics as m
from voicebridge.errors import problem_response
from voicebridge.logs import request_id_var
from voicebridge.transcripts.engine import availability

log = logging.getLogger("voicebridge.http")
# A client's own request id is echoed only when it is a plain token.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
router = APIRouter(tags=["operations"])
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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
    # Optional parts are details, never a reason to take the service out of rotation.
    transcription = await run_in_threadpool(availability, request.app.state.settings)
    details = {"transcription": {"available": transcription.ready, "detail": transcription.detail}}
    return Response(
        json.dumps({"status": "ready", "details": details}), media_type="application/json"
    )


def metrics_allowed(request: Request, token: str | None) -> bool:
    """With ``ops.metrics_token`` set, only a scraper presenting it; without, only a
    caller on this machine (loopback). The proxy and the NetworkPolicy also keep
    /metrics from the internet, but it no longer relies on them."""
    if token:
        presented = request.headers.get("authorization", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("testclient", "localhost")


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Events from every API process on this machine, and the service's state."""
    if not metrics_allowed(request, request.app.state.settings.ops.metrics_token):
        return problem_response(
            401,
            "unauthorized",
            "Authentication required",
            "/metrics needs the metrics token (or a caller on this machine)",
            request,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(m.exposition(*request.app.state.state_metrics), media_type=CONTENT_TYPE_LATEST)


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
            method = request.method if request.method in _METHODS else "OTHER"
            m.HTTP_UNHANDLED.labels(method, route_name, type(exc).__name__).inc()
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
        # Label values a client chooses would let anyone grow the metrics without bound.
        method = request.method if request.method in _METHODS else "OTHER"
        m.HTTP_REQUESTS.labels(method, route_name, str(response.status_code)).inc()
        m.HTTP_LATENCY.labels(method, route_name).observe(elapsed)
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
