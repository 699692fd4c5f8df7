"""Every API route as every role, against another family's and another school's data."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

import tests.access
from tests.access.harness import CASES, ROLES, Case, build_world
from tests.factories import Factory
from voicebridge.app import API_PREFIX, create_app
from voicebridge.config import Settings

for module in pkgutil.iter_modules(tests.access.__path__):
    if module.name.startswith("cases_"):
        importlib.import_module(f"tests.access.{module.name}")


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """The app's API operations, read from its OpenAPI document.

    Recent FastAPI versions nest included routers instead of flattening them into
    ``app.routes``; the OpenAPI document is the stable, public list of operations.
    """
    routes = set()
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(API_PREFIX):
            for method in operations:
                routes.add((method.upper(), path))
    return routes


def test_every_route_has_a_case(settings: Settings) -> None:
    app = create_app(settings)
    missing = sorted(api_routes(app) - set(CASES))
    stale = sorted(set(CASES) - api_routes(app))
    assert not missing, f"routes without an access case: {missing}"
    assert not stale, f"cases for routes that do not exist: {stale}"


def expected(case: Case, role: str) -> set[int] | None:
    """None means: any success status."""
    if role in case.expect:
        return {case.expect[role]}
    if role in case.allowed:
        return case.ok
    if role == "anonymous":
        return {401}
    return {403, 404}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_route_as_role(
    key: tuple[str, str],
    role: str,
    client: TestClient,
    session: Session,
    factory: Factory,
    settings: Settings,
    app: FastAPI,
) -> None:
    case = CASES[key]
    world = build_world(session, factory, settings, app.state.store)
    if case.setup is not None:
        case.setup(world)
    req = case.build(world)
    headers = dict(req.headers) if req.replace_auth else {**world.headers(role), **req.headers}
    session.flush()
    response = client.request(
        case.method,
        req.url,
        json=req.json,
        params=req.params,
        headers=headers,
        content=req.content,
        follow_redirects=False,
    )
    want = expected(case, role)
    assert response.status_code < 500, response.text
    if want is None:
        assert response.status_code < 400, f"{role}: {response.status_code} {response.text}"
    else:
        assert response.status_code in want, f"{role}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    if case.check is not None and response.status_code < 400:
        case.check(world, role, response)
