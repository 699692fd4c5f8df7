"""How `voicebridge serve` serves the browser app: caching, fallback, CSP.

Uses a small stand-in build (the real one needs Node); the journeys in
test_journeys.py drive the real build in Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from voicebridge import webapp


@pytest.fixture
def served(tmp_path: Path) -> TestClient:
    dist = tmp_path / "web_dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>shell</title>")
    (dist / "assets" / "index-Abc123.js").write_text("console.log(1)")
    (dist / "sw.js").write_text("// sw")
    (dist / "manifest.webmanifest").write_text("{}")
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    webapp.install(app, dist)
    return TestClient(app)


def test_the_shell_is_revalidated_and_carries_a_strict_csp(served: TestClient) -> None:
    answer = served.get("/")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp


def test_hashed_assets_are_kept_for_a_year(served: TestClient) -> None:
    answer = served.get("/assets/index-Abc123.js")
    assert answer.status_code == 200
    assert "immutable" in answer.headers["cache-control"]
    assert "max-age=31536000" in answer.headers["cache-control"]
    assert served.get("/assets/missing-X.js").status_code == 404


def test_assets_go_gzipped_to_a_browser_that_accepts_it(served: TestClient) -> None:
    packed = served.get("/assets/index-Abc123.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["content-type"].startswith("text/javascript")
    assert packed.text == "console.log(1)"  # httpx undoes the gzip
    plain = served.get("/assets/index-Abc123.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == "console.log(1)"


def test_the_service_worker_and_manifest_are_revalidated(served: TestClient) -> None:
    sw = served.get("/sw.js")
    assert sw.headers["cache-control"] == "no-cache"
    assert (
        served.get("/manifest.webmanifest")
        .headers["content-type"]
        .startswith("application/manifest+json")
    )


@pytest.mark.parametrize("path", ["/parent", "/parent/child/123", "/kiosk/home", "/console/x/y"])
def test_client_routes_answer_the_shell(served: TestClient, path: str) -> None:
    answer = served.get(path)
    assert answer.status_code == 200
    assert "<title>shell</title>" in answer.text


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/docs-not", "/metrics2", "/favicon.ico"])
def test_other_paths_are_not_the_shell(served: TestClient, path: str) -> None:
    answer = served.get(path)
    assert answer.status_code == 404
    assert "shell" not in answer.text


def test_the_api_still_answers(served: TestClient) -> None:
    assert served.get("/api/v1/ping").json() == {"ok": "yes"}


def test_without_a_build_only_the_api_is_served(tmp_path: Path) -> None:
    app = FastAPI()
    webapp.install(app, tmp_path / "absent")
    assert TestClient(app).get("/").status_code == 404
