"""Cases for threads, messages, playback, progress, receipts and the quiet-children report.

The target is a ready voice message from guardian_a in child_a's family thread,
with its Opus object in the app's store.
"""

from __future__ import annotations

from typing import Any

from tests.access.harness import ROLES, Case, Req, World, register
from tests.messages.helpers import ready_message
from voicebridge.messages import service

SIGNED_IN = set(ROLES) - {"anonymous"}
FAMILY = {"child", "own_guardian"}


def _message(w: World) -> None:
    thread = service.open_thread(w.session, w.guardian_a, w.child_a, None)
    w.extras["thread"] = thread
    w.extras["message"] = ready_message(w.session, w.store, w.guardian_a, thread, caption="hi")


def _thread_url(w: World) -> str:
    return f"/api/v1/threads/{w.extras['thread'].id}/messages"


def _message_url(w: World, suffix: str = "") -> str:
    return f"/api/v1/messages/{w.extras['message'].id}{suffix}"


def _inbox_check(w: World, role: str, response: Any) -> None:
    thread_id = str(w.extras["thread"].id)
    if role in FAMILY:
        assert thread_id in response.text, f"{role} lost their thread"
    elif role != "anonymous":
        assert thread_id not in response.text, f"{role} saw child_a's thread"


PROGRESS = {
    "play_id": "p1",
    "position_ms": 1000,
    "segments": [{"start_ms": 0, "end_ms": 1000, "at": "2026-01-01T00:00:00Z"}],
}

register(
    Case(
        "GET",
        "/api/v1/threads",
        lambda w: Req(url="/api/v1/threads"),
        allowed=SIGNED_IN,
        setup=_message,
        check=_inbox_check,
    )
)
register(
    Case(
        "POST",
        "/api/v1/children/{child_id}/thread",
        lambda w: Req(url=f"/api/v1/children/{w.child_a.id}/thread"),
        allowed={"child", "own_guardian", "school_staff"},
    )
)
register(
    Case(
        "GET",
        "/api/v1/threads/{thread_id}/messages",
        lambda w: Req(url=_thread_url(w)),
        allowed=FAMILY,
        setup=_message,
    )
)
register(
    Case(
        "GET",
        "/api/v1/messages/{message_id}",
        lambda w: Req(url=_message_url(w)),
        allowed=FAMILY,
        setup=_message,
    )
)
register(
    Case(
        "DELETE",
        "/api/v1/messages/{message_id}",
        lambda w: Req(url=_message_url(w)),
        allowed={"own_guardian"},
        setup=_message,
        expect={"child": 403},
    )
)
register(
    Case(
        "GET",
        "/api/v1/messages/{message_id}/audio",
        lambda w: Req(url=_message_url(w, "/audio"), headers={"Range": "bytes=0-99"}),
        allowed=FAMILY,
        setup=_message,
    )
)
register(
    Case(
        "POST",
        "/api/v1/messages/{message_id}/progress",
        lambda w: Req(url=_message_url(w, "/progress"), json=PROGRESS),
        allowed={"child"},
        setup=_message,
        expect={"own_guardian": 403},
    )
)
register(
    Case(
        "GET",
        "/api/v1/messages/{message_id}/receipt",
        lambda w: Req(url=_message_url(w, "/receipt")),
        allowed={"own_guardian"},
        setup=_message,
        expect={"child": 403},
    )
)
register(
    Case(
        "GET",
        "/api/v1/schools/{school_id}/quiet-children",
        lambda w: Req(url=f"/api/v1/schools/{w.school_a.id}/quiet-children"),
        allowed={"school_staff", "admin"},
        setup=_message,
    )
)
