"""GET /events: the signed-in person's server-sent events stream."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from voicebridge import clock
from voicebridge.auth.deps import CurrentPrincipal, SettingsDep
from voicebridge.auth.tokens import decode_access_token
from voicebridge.db import SessionDep
from voicebridge.live.broker import BROKER
from voicebridge.live.stream import StreamSpec, events, opening

router = APIRouter(tags=["live"])

EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            '`text/event-stream`. Each event is `id: <n>` and `data: {"id", "kind", '
            '"data"}` where data holds ids only; fetch what they name through the API. '
            "Housekeeping kinds: `stream.open` (the newest id, to resume from), "
            "`stream.reset` (too old to resume: fetch everything again), `stream.end` "
            "(`reason`: `reconnect` with a fresh token, or `signed-out`)."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get("/events", response_class=StreamingResponse, responses=EVENT_STREAM)
async def event_stream(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            pattern=r"^[0-9]{1,18}$",
            description="The last event id seen; the stream resumes after it",
        ),
    ] = None,
) -> StreamingResponse:
    """Live updates for the signed-in person: new and withdrawn offers, case messages,
    escalations, held messages, moderation queue changes, finished recordings.

    The access token is checked at connect; the stream ends when the sign-in is
    revoked and when the token expires (reconnect with a fresh one and
    `Last-Event-ID`: nothing is missed).
    """
    token = request.headers["authorization"].split(" ", 1)[1].strip()
    claims = decode_access_token(settings.auth, token)
    spec = StreamSpec(
        user_id=principal.id,
        session_id=principal.session.id,
        last_event_id=int(last_event_id) if last_event_id is not None else None,
        token_seconds=(claims.expires_at - clock.now()).total_seconds(),
    )
    # Subscribed before the backlog is read: an event committed in between is not lost.
    subscriber = BROKER.subscribe(principal.id)
    try:
        start = await asyncio.to_thread(opening, session, settings.live, spec)
    except BaseException:
        BROKER.unsubscribe(subscriber)
        raise
    return StreamingResponse(
        events(request.app.state.engine, settings.live, spec, subscriber, start),
        media_type="text/event-stream",
        # Proxies (Caddy, nginx) must pass each event on at once, not buffer them.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
