"""Cases for the live stream: every signed-in person has their own; nobody else's exists."""

from __future__ import annotations

import json
from typing import Any

from tests.access.harness import ROLES, Case, Req, World, register

SIGNED_IN = set(ROLES) - {"anonymous"}


def _only_own_stream(w: World, role: str, response: Any) -> None:
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    first = json.loads(frames[0])
    assert first["kind"] == "stream.open"
    # Another person's events never reach this stream (ids only anyway).
    assert str(w.child_b.id) not in response.text


register(
    Case(
        "GET",
        "/api/v1/events",
        lambda w: Req("/api/v1/events"),
        allowed=SIGNED_IN,
        check=_only_own_stream,
        note="The stream is the caller's own: there is no user id to name someone else's.",
    )
)
