"""The OpenAPI document, made to tell the truth about errors and accepted text.

FastAPI documents a route's success answer and a 422 in its own shape; ours
answer problem+json, and most routes can also answer 401, 403, 404, 409 or
429. Rather than asking every route (including routes still to be written) to
list them, one post-processing step derives them from what the route is made
of, and a route adds what only it can raise with ``problems(...)``:

* every operation: 500 (the problem body that names the request id), and 503 with
  ``Retry-After`` while the database or the object store cannot be reached, or
  the process sheds load (``voicebridge.overload``);
* a route with any parameter or body: 422 (validation, and the text guard);
* a route that depends on ``current_principal`` or ``current_device``: 401;
  on ``current_principal``: 403 too (roles and the access policy);
* a route with a path parameter: 404 (unknown, or not the caller's to see);
* a POST under /api/v1 (the Idempotency-Key middleware): 400, 409, 422;
* a JSON body: 413 (bodies over 1 MiB);
* ``problems(*statuses)`` on the route, or ``declare_problems`` on a
  dependency it uses: whatever that code raises on purpose.

Each of these answers is documented as ``application/problem+json`` with the
``Problem`` schema. Request strings without a pattern of their own get
``inputs.TEXT_PATTERN`` (no NUL, no lone surrogate), which ``TextGuard``
enforces for every route; request objects are documented closed
(``additionalProperties: false``): the models ignore unknown fields, and a
client has no reason to send any. POSTs declare the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import http
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from voicebridge.errors import PROBLEM_BASE, PROBLEM_JSON
from voicebridge.inputs import TEXT_PATTERN

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "__voicebridge_problems__"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; clients switch on `type`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": [f"{PROBLEM_BASE}not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request's path"},
        "request_id": {
            "type": "string",
            "description": "Also in the X-Request-ID header and the server's log",
        },
        "errors": {
            "type": "array",
            "description": "Validation problems, one per field",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the problem statuses its own code raises."""
    return {status: {"description": _phrase(status)} for status in statuses}


def declare_problems(*statuses: int) -> Callable[[F], F]:
    """Marks a dependency with the problem statuses it raises; routes using it inherit them."""

    def mark(func: F) -> F:
        setattr(func, _ATTR, frozenset(statuses) | getattr(func, _ATTR, frozenset()))
        return func

    return mark


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Problem"


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every operation as OpenAPI sees it (newer FastAPI includes routers lazily)."""
    try:
        from fastapi.openapi.utils import _get_api_route_for_openapi
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        yield from (r for r in app.routes if isinstance(r, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is not None:
            yield cast(APIRoute, route)


def route_problems(route: APIRoute) -> set[int]:
    """The problem statuses a route can answer, from what it is made of."""
    from voicebridge.auth.deps import current_device, current_principal

    found = {500, 503}
    calls = [d.call for d in _dependants(route.dependant) if d.call is not None]
    params = [p for d in _dependants(route.dependant) for p in (*d.query_params, *d.path_params)]
    headers = [p for d in _dependants(route.dependant) for p in d.header_params]
    body = route.body_field is not None
    if params or headers or body:
        found.add(422)
    if current_principal in calls:
        found |= {401, 403}
    if current_device in calls:
        found.add(401)
    if "{" in route.path_format:
        found.add(404)
    if body:
        found |= {400, 413}  # a body that is not JSON (or not UTF-8); over 1 MiB
    if "POST" in (route.methods or set()) and route.path_format.startswith("/api/"):
        found |= {400, 409, 422}
    for call in calls:
        found |= set(getattr(call, _ATTR, ()))
    for status in route.responses:
        if str(status).isdigit() and int(status) >= 400:
            found.add(int(status))
    return found


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        _document_problems(app, schema)
        _document_idempotency_key(schema)
        _document_upload_purposes(schema)
        _guard_request_text(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_problems(app: FastAPI, schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        statuses = route_problems(route)
        path = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                entry = responses.setdefault(str(status), {})
                entry["description"] = entry.get("description") or _phrase(status)
                if entry["description"] == "Validation Error":
                    entry["description"] = "Invalid input"
                entry["content"] = content


def _document_idempotency_key(schema: dict[str, Any]) -> None:
    from voicebridge.idempotency.middleware import KEY_PATTERN

    parameter = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A retry with the same key takes effect once and gets the first answer",
        "schema": {"type": "string", "pattern": KEY_PATTERN},
    }
    for path, item in schema.get("paths", {}).items():
        operation = item.get("post")
        if operation is not None and path.startswith("/api/"):
            operation.setdefault("parameters", []).append(parameter)


def _document_upload_purposes(schema: dict[str, Any]) -> None:
    from voicebridge.uploads.purposes import PURPOSES

    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                if parameter.get("name") == "purpose" and parameter["schema"].get("enum") == []:
                    parameter["schema"]["enum"] = sorted(PURPOSES)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _guard_request_text(schema: dict[str, Any]) -> None:
    """Gives TEXT_PATTERN to every request string that has no pattern, format or enum."""
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    inputs: list[Any] = []
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            inputs.extend(p.get("schema") for p in operation.get("parameters", []))
            inputs.append(operation.get("requestBody"))
    pending = [name for node in inputs for name in _refs(node)]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        inputs.append(components[name])
        pending.extend(_refs(components[name]))
    for node in inputs:
        _pattern_strings(node)


def _pattern_strings(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _pattern_strings(item)
        return
    if not isinstance(node, dict):
        return
    if (
        node.get("type") == "string"
        and not {"pattern", "format", "enum", "const", "contentMediaType"} & node.keys()
    ):
        node["pattern"] = TEXT_PATTERN
    if "properties" in node and "additionalProperties" not in node:
        # Request models ignore fields they do not know; the contract is to send none.
        node["additionalProperties"] = False
    for key, value in node.items():
        if key != "examples":
            _pattern_strings(value)
