"""What the API accepts as text, checked once at the edge for every route.

PostgreSQL cannot store a NUL character in text or JSONB, and a lone UTF-16
surrogate (``"\\ud800"`` is valid JSON) cannot be encoded at all; either one
used to reach the database and answer 500. Rather than trusting every request
model (and every model still to be written) to remember, one ASGI middleware
refuses such text wherever a client can put it: the path, the query string,
header values and JSON bodies. The OpenAPI document says the same thing: every
request string without a pattern of its own gets ``TEXT_PATTERN`` (see
``voicebridge.openapi``). Values decoded from inside a header (tus
``Upload-Metadata``) and files read by the CLI go through ``check_text``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voicebridge.errors import problem_response

# ECMA-262 and Python read this pattern alike: no NUL, no UTF-16 surrogate.
TEXT_PATTERN = r"^[^\u0000\ud800-\udfff]*$"
_BAD = re.compile(r"[\u0000\ud800-\udfff]")
# JSON request bodies are small; anything larger is refused before parsing.
MAX_JSON_BYTES = 1024 * 1024
PROBLEM_DETAIL = "Text may not contain NUL characters or unpaired UTF-16 surrogates"


def bad_text(value: str) -> bool:
    return _BAD.search(value) is not None


def check_text(value: str, what: str) -> str:
    """The value, or ValueError naming ``what``; for text decoded outside JSON."""
    if bad_text(value):
        raise ValueError(f"{what}: {PROBLEM_DETAIL[0].lower()}{PROBLEM_DETAIL[1:]}")
    return value


def find_bad(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Where in a decoded JSON value a string (or an object key) holds bad text."""
    if isinstance(value, str):
        if bad_text(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if bad_text(key):
                yield (*path, key)
            yield from find_bad(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from find_bad(item, (*path, str(index)))


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class TextGuard:
    """Refuses NUL and lone surrogates anywhere a client can put text (422)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = self._outside_body(scope)
        if where is not None:
            await self._refuse(scope, receive, send, [where])
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        # FastAPI reads a body without a Content-Type as JSON, so those are looked at too.
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") or not (
            content_type == "" or _is_json(content_type)
        ):
            await self.app(scope, receive, send)
            return
        chunks, complete = await _read_prefix(receive, MAX_JSON_BYTES)
        if not complete:
            if content_type:
                await _send_problem(
                    scope,
                    receive,
                    send,
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"A JSON body holds at most {MAX_JSON_BYTES} bytes",
                )
                return
            # An untyped large body is no JSON route's (raw uploads); pass it on untouched.
            await self.app(scope, _replay(chunks, receive, complete), send)
            return
        body = b"".join(chunks)
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = None  # the route's own parser answers malformed JSON
        found = [("body", *path) for path in find_bad(decoded)]
        if found:
            await self._refuse(scope, receive, send, found)
            return
        await self.app(scope, _replay([body], receive, complete), send)

    @staticmethod
    def _outside_body(scope: Scope) -> tuple[str, ...] | None:
        if bad_text(scope["path"]):
            return ("path",)
        query = scope.get("query_string", b"").decode("latin-1")
        for key, value in parse_qsl(query, keep_blank_values=True):
            if bad_text(key) or bad_text(value):
                return ("query", key)
        if bad_text(unquote(query)):
            return ("query",)
        for name, value in scope["headers"]:
            if b"\x00" in value:
                return ("header", name.decode("latin-1"))
        return None

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, where: list[tuple[str, ...]]
    ) -> None:
        await _send_problem(
            scope,
            receive,
            send,
            422,
            "invalid-input",
            "Invalid input",
            PROBLEM_DETAIL,
            extra={"errors": [{"loc": list(loc), "msg": PROBLEM_DETAIL} for loc in where]},
        )


async def _read_prefix(receive: Receive, limit: int) -> tuple[list[bytes], bool]:
    """Body chunks up to ``limit`` bytes, and whether that was the whole body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return chunks, True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return chunks, True
        if size > limit:
            return chunks, False


def _replay(chunks: list[bytes], receive: Receive, complete: bool) -> Receive:
    """Hands the app what was read, then (for a partly read body) the rest as it comes."""
    pending = list(chunks)

    async def replay() -> Message:
        if pending:
            chunk = pending.pop(0)
            more = bool(pending) or not complete
            return {"type": "http.request", "body": chunk, "more_body": more}
        return await receive()

    return replay


async def _send_problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    slug: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
) -> None:
    request = Request(scope)
    response = problem_response(status, slug, title, detail, request, extra=extra)
    await response(scope, receive, send)
