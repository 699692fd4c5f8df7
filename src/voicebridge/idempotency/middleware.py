"""The ``Idempotency-Key`` header on creating requests (POST under /api/v1).

Order of a keyed request: claim the key (own transaction), run the route, then
write the answer into the record in the route's own transaction and commit both
together (``db.get_session`` leaves that transaction open for us). A replay
re-runs the route's dependencies (authentication, the loaders that check the
caller may touch the resource) in a transaction that is rolled back, and
answers with their refusal if the caller lost the right since.

Answers that carry a credential or a code (a token pair, an invitation code, a
device credential) are never stored: the record keeps a marker and a replay is
answered 409. Sign-in routes (/auth/...) ignore the header altogether, so that a
replayed refresh is the reuse it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.dependencies.utils import solve_dependencies
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path

from voicebridge.auth.passwords import hash_secret
from voicebridge.auth.tokens import decode_access_token
from voicebridge.config import Settings
from voicebridge.errors import Conflict, DomainError, problem_response
from voicebridge.idempotency import service
from voicebridge.idempotency.service import Answer, Claim

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
# Visible ASCII: what clients make keys of (UUIDs, hashes); documented in OpenAPI.
KEY_PATTERN = r"^[!-~]{1,200}$"
# Only JSON bodies up to this size are hashed; uploads have their own resumption (tus).
MAX_HASHED_BODY = 1024 * 1024
# Sign-in answers are credentials, and a replayed refresh must reach reuse detection.
BYPASS_PREFIX = "/api/v1/auth/"
# JSON members whose presence makes an answer a secret that is never stored.
SECRET_FIELDS = frozenset(
    {"access_token", "refresh_token", "token", "device_token", "code", "secret", "password"}
)


class TakenOver(Conflict):
    slug = "idempotency-in-progress"
    title = "Request in progress"


@dataclass
class Pending:
    """A keyed request in flight: the claim it holds and, once the route succeeded,
    the route's open transaction, in which the answer is recorded."""

    record_id: uuid.UUID
    holder: str
    engine: Engine
    session: Session | None = None
    recorded: bool = False
    recheck: bool = False

    def adopt(self, session: Session) -> None:
        self.session = session

    def record_now(self, session: Session, answer: Answer) -> None:
        """For routes that commit themselves: the answer goes into their transaction."""
        if not service.record_answer(session, self.record_id, self.holder, answer):
            raise TakenOver("Another attempt of this request took over; retry")
        self.recorded = True


def pending(request: Request) -> Pending | None:
    value = getattr(request.state, "idempotency", None)
    return value if isinstance(value, Pending) else None


def carries_secret(content_type: str | None, body: bytes) -> bool:
    if not body or not content_type or "json" not in content_type:
        return False
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return _has_secret_field(document)


def _has_secret_field(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in SECRET_FIELDS or _has_secret_field(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_secret_field(v) for v in value)
    return False


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
    if request.url.path.startswith(BYPASS_PREFIX):
        return False
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length")
    small = length is None or (length.isdigit() and int(length) <= MAX_HASHED_BODY)
    return small and (content_type == "" or content_type.startswith("application/json"))


def _headers(response: Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "content-length"}


@dataclass(frozen=True)
class _Keyed:
    pattern: re.Pattern[str]
    route: APIRoute


def _keyed_routes(prefix: str, routers: Sequence[APIRouter]) -> list[_Keyed]:
    """The POST routes a key may replay, with the full path each answers on."""
    out = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and "POST" in (route.methods or ()):
                pattern, _, _ = compile_path(prefix + route.path)
                out.append(_Keyed(pattern, route))
    return out


async def _recheck(request: Request, body: bytes) -> Response | None:
    """Runs the route's dependencies again for a replay; their refusal is the answer."""
    path = request.url.path
    keyed: list[_Keyed] = request.app.state.keyed_routes
    found = next(((k, m) for k in keyed if (m := k.pattern.match(path))), None)
    if found is None:
        return None
    route = found[0].route
    params = {
        name: found[0].route.param_convertors[name].convert(value)
        if name in found[0].route.param_convertors
        else value
        for name, value in found[1].groupdict().items()
    }
    scope = {**request.scope, "path_params": params, "route": route}
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    async with AsyncExitStack() as inner, AsyncExitStack() as function:
        scope["fastapi_inner_astack"] = inner
        scope["fastapi_function_astack"] = function
        replay = Request(scope, request.receive)
        replay.state.idempotency_recheck = True
        try:
            await solve_dependencies(
                request=replay,
                dependant=route.dependant,
                body=parsed,
                dependency_overrides_provider=request.app,
                async_exit_stack=inner,
                embed_body_fields=route._embed_body_fields,
            )
        except DomainError as exc:
            log.info("replay refused", extra={"status": exc.status})
            return problem_response(
                exc.status, exc.slug, exc.title, exc.detail, request, exc.headers, exc.extra
            )
    return None


def _replayed(claimed: service.ClaimResult) -> Response:
    headers = {**claimed.headers, "Idempotent-Replayed": "true"}
    return Response(
        claimed.body or b"",
        status_code=claimed.status_code or 200,
        media_type=claimed.content_type,
        headers=headers,
    )


def _secret_replay(request: Request) -> Response:
    return problem_response(
        409,
        "idempotency-secret-not-replayed",
        "Answer not replayed",
        "The first request with this key succeeded; its answer held a credential or "
        "code, which is never kept. Look the result up, or send a new request with a new key",
        request,
    )


def install(app: FastAPI, prefix: str, routers: Sequence[APIRouter]) -> None:
    app.state.keyed_routes = _keyed_routes(prefix, routers)

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
        engine: Engine = request.app.state.engine
        path = request.url.path
        holder = service.holder_id()
        lease = timedelta(seconds=settings.idempotency.lease_seconds)
        claimed = await run_in_threadpool(
            service.claim, engine, scope, key, "POST", path, digest, holder=holder, lease=lease
        )
        if claimed.outcome is Claim.mismatch:
            return problem_response(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This key was used for a different request",
                request,
            )
        if claimed.outcome is Claim.in_progress:
            return _in_progress(request)
        if claimed.outcome in (Claim.replay, Claim.secret):
            refused = await _recheck(request, body)
            if refused is not None:
                return refused
            if claimed.outcome is Claim.secret:
                return _secret_replay(request)
            return _replayed(claimed)
        assert claimed.record_id is not None
        if claimed.taken_over:
            log.info("idempotency claim taken over", extra={"record": str(claimed.record_id)})
        state = Pending(claimed.record_id, holder, engine)
        request.state.idempotency = state
        try:
            response = await call_next(request)
            chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
        except BaseException:
            await run_in_threadpool(_abandon, state)
            raise
        payload = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chunks)
        headers = _headers(response)
        if state.recorded:
            await run_in_threadpool(_close, state)
            return Response(payload, status_code=response.status_code, headers=headers)
        answer = Answer(
            response.status_code,
            response.headers.get("content-type"),
            headers,
            payload,
            carries_secret(response.headers.get("content-type"), payload),
        )
        outcome = await run_in_threadpool(_finish, state, answer)
        if outcome is _Outcome.ok:
            return Response(payload, status_code=response.status_code, headers=headers)
        if outcome is _Outcome.failed:
            return problem_response(
                503,
                "unavailable",
                "Service unavailable",
                "The change could not be saved; retry with the same key",
                request,
                headers={"Retry-After": "1"},
            )
        # Taken over by a retry while we ran: our change was rolled back; answer as
        # that retry will (its answer if it is already recorded).
        record = await run_in_threadpool(service.load, engine, state.record_id)
        if record is not None and record.completed_at is not None:
            if record.secret:
                return _secret_replay(request)
            return _replayed(
                service.ClaimResult(
                    Claim.replay,
                    status_code=record.status_code,
                    content_type=record.content_type,
                    body=record.body,
                    headers={str(k): str(v) for k, v in (record.headers or {}).items()},
                )
            )
        return _in_progress(request)


def _in_progress(request: Request) -> Response:
    return problem_response(
        409,
        "idempotency-in-progress",
        "Request in progress",
        "The first request with this key has not finished; retry shortly",
        request,
        headers={"Retry-After": "2"},
    )


class _Outcome:
    ok = "ok"
    taken_over = "taken_over"
    failed = "failed"


def _finish(state: Pending, answer: Answer) -> str:
    session = state.session
    if session is None:
        # Nothing left open: the route failed (its transaction already ended) or
        # used no session. Record the answer on its own.
        if service.complete(state.engine, state.record_id, state.holder, answer):
            return _Outcome.ok
        return _Outcome.taken_over if service.storable(answer) else _Outcome.ok
    try:
        if not service.storable(answer):
            session.rollback()
            service.release(state.engine, state.record_id, state.holder)
            return _Outcome.ok
        if not service.record_answer(session, state.record_id, state.holder, answer):
            session.rollback()
            return _Outcome.taken_over
        session.commit()
        return _Outcome.ok
    except Exception:
        log.exception("committing a keyed request failed")
        session.rollback()
        service.release(state.engine, state.record_id, state.holder)
        return _Outcome.failed
    finally:
        session.close()
        state.session = None


def _close(state: Pending) -> None:
    if state.session is not None:
        state.session.commit()
        state.session.close()
        state.session = None


def _abandon(state: Pending) -> None:
    if state.session is not None:
        state.session.rollback()
        state.session.close()
        state.session = None
    service.release(state.engine, state.record_id, state.holder)
