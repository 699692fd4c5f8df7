"""What a newcomer trips on first: text the database cannot hold, odd headers,
phone numbers, unexpected errors, and the command line."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.conftest import make_settings
from tests.factories import PASSWORD, Factory
from voicebridge.accounts.models import Role
from voicebridge.accounts.schemas import normalize_phone
from voicebridge.app import create_app
from voicebridge.cli import app as cli_app
from voicebridge.cli import find_data_dir

TUS = {"Tus-Resumable": "1.0.0"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "body",
    [
        {"login": "admin\x00@x.org", "password": "x"},
        {"login": "a@b.org", "password": "pass\x00word"},
        {"login": "a@b.org", "password": "\ud800"},
        {"login": "a@b.org", "password": "x", "\x00extra": 1},
    ],
)
def test_nul_and_lone_surrogates_are_invalid_input(client: TestClient, body: object) -> None:
    # json.dumps escapes a lone surrogate as \\ud800, as a JavaScript client would send it.
    r = client.post(
        "/api/v1/auth/login",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"][0] == "body"


def test_nul_everywhere_a_client_writes_text(client: TestClient, factory: Factory) -> None:
    staff = factory.staff(factory.school())
    h = factory.headers(staff)
    school_id = staff_school(factory, staff)
    for method, url, kwargs in (
        ("post", f"/api/v1/schools/{school_id}/classes", {"json": {"name": "Grade\x00 1"}}),
        ("get", "/api/v1/users", {"params": {"cursor": "a\x00b"}}),
        (
            "post",
            "/api/v1/auth/register",
            {
                "json": {
                    "phone": "13800138000",
                    "code": "123456",
                    "password": "long-enough",
                    "display_name": "\udfff",
                }
            },
        ),
    ):
        if "json" in kwargs:
            kwargs = {"content": json.dumps(kwargs.pop("json"))}
            h = {**h, "content-type": "application/json"}
        r = getattr(client, method)(url, headers=h, **kwargs)
        assert r.status_code == 422, (url, r.text)


def staff_school(factory: Factory, staff: object) -> uuid.UUID:
    from sqlmodel import select

    from voicebridge.schools.models import StaffMembership

    membership = factory.session.exec(
        select(StaffMembership).where(StaffMembership.user_id == staff.id)  # type: ignore[attr-defined]
    ).first()
    assert membership is not None
    return membership.school_id


@pytest.mark.parametrize(
    "headers",
    [
        {"Upload-Length": "100", "Upload-Metadata": "purpose 宝贝".encode().decode("latin-1")},
        {"Upload-Length": "100", "Upload-Metadata": "purpose AA=="},
        {"Upload-Length": "100", "Upload-Metadata": "purpose !!!"},
        {"Upload-Length": "9" * 5000, "Upload-Metadata": f"purpose {_b64('message')}"},
        {"Upload-Length": "²", "Upload-Metadata": f"purpose {_b64('message')}"},
        {
            "Upload-Length": "100",
            "Upload-Metadata": f"purpose {_b64('story_chapter')},"
            f"story_id {_b64(str(uuid.uuid4()))},chapter_number {_b64('9' * 30)}",
        },
        {
            "Upload-Length": "100",
            "Upload-Metadata": f"purpose {_b64('message')}",
            "Upload-Checksum": "sha1 宝贝".encode().decode("latin-1"),
            "Content-Type": "application/offset+octet-stream",
        },
    ],
)
def test_odd_tus_headers_are_invalid_input(
    client: TestClient, factory: Factory, headers: dict[str, str]
) -> None:
    guardian = factory.user(Role.guardian)
    raw = {k: v.encode("latin-1") for k, v in headers.items()}  # the bytes on the wire
    r = client.post("/api/v1/uploads", headers={**factory.headers(guardian), **TUS, **raw})
    assert r.status_code == 422, r.text
    assert r.headers["tus-resumable"] == "1.0.0"


def test_tus_location_is_absolute(client: TestClient, factory: Factory) -> None:
    child = factory.child(factory.school())
    guardian, _ = factory.guardian_of(child)
    h = factory.headers(guardian)
    thread = client.post(f"/api/v1/children/{child.id}/thread", json={}, headers=h).json()["id"]
    meta = f"purpose {_b64('message')},thread_id {_b64(thread)}"
    r = client.post(
        "/api/v1/uploads", headers={**h, **TUS, "Upload-Length": "10", "Upload-Metadata": meta}
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"].startswith("http://testserver/api/v1/uploads/")


def test_single_upload_refuses_a_form(client: TestClient, factory: Factory) -> None:
    guardian = factory.user(Role.guardian)
    r = client.post(
        "/api/v1/uploads/single",
        params={"purpose": "message"},
        files={"file": ("a.m4a", b"abc", "audio/mp4")},
        headers=factory.headers(guardian),
    )
    assert r.status_code == 415, r.text
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/uploads/single"]["post"]["requestBody"]
    assert "audio/*" in body["content"]
    options = spec["paths"]["/api/v1/uploads/{upload_id}"]["options"]
    assert [p["name"] for p in options["parameters"]] == ["upload_id"]


def test_absurd_ranges_never_reach_int(client: TestClient) -> None:
    from voicebridge.audio.playback import Unsatisfiable, parse_range

    assert parse_range("bytes=0-" + "9" * 5000, 100) == (0, 99)
    assert parse_range("bytes=-" + "9" * 5000, 100) == (0, 99)
    assert parse_range("bytes=٣-", 100) is None
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=" + "9" * 5000 + "-", 100)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+44 7911 123456", "+447911123456"),
    ],
)
def test_phone_numbers_are_stored_as_e164(typed: str, stored: str) -> None:
    assert normalize_phone(typed) == stored


def test_a_number_that_is_no_phone_is_a_clear_422(client: TestClient, factory: Factory) -> None:
    for phone in ("12345", "447911123456", "phone"):
        r = client.post(
            "/api/v1/auth/register",
            json={"phone": phone, "code": "123456", "password": "long-enough", "display_name": "X"},
        )
        assert r.status_code == 422, r.text
        assert "mainland mobile number" in r.json()["errors"][0]["msg"]
    guardian = factory.user(Role.guardian)  # signs in with the country code and no +
    assert guardian.login is not None
    r = client.post(
        "/api/v1/auth/login",
        json={"login": guardian.login.removeprefix("+"), "password": PASSWORD},
    )
    assert r.status_code == 200, r.text


def test_an_unexpected_error_is_logged_once_counted_and_named(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(tmp_path), engine=engine)

    def boom() -> None:
        raise RuntimeError("kaboom")

    app.add_api_route("/api/v1/boom", boom)
    served = 'voicebridge_http_requests_total{method="GET",route="/api/v1/boom",status="500"}'
    unhandled = (
        'voicebridge_http_unhandled_errors_total{exception="RuntimeError",method="GET",'
        'route="/api/v1/boom"}'
    )
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        # The counters belong to the process (every app in it shares them): compare.
        before = client.get("/metrics").text
        r = client.get("/api/v1/boom", headers={"X-Request-ID": "req-42"})
        metrics = client.get("/metrics").text
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["request_id"] == "req-42"
    assert "req-42" in r.json()["detail"]
    errors = [rec for rec in caplog.records if rec.getMessage() == "unhandled error"]
    assert len(errors) == 1
    assert errors[0].__dict__["request_id"] == "req-42"
    assert _sample(metrics, served) == _sample(before, served) + 1
    assert _sample(metrics, unhandled) == _sample(before, unhandled) + 1


def _sample(exposition: str, series: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_cli_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicebridge.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOICEBRIDGE_DATA_DIR", raising=False)
    for argv in (
        ["storybox", "export", "not-a-uuid", "--out", "x.zip"],
        ["storybox", "export", str(uuid.uuid4()), "--out", "x.zip"],
        ["stories", "import", str(tmp_path), "--narrator", "a@b.org"],
        ["no-such-command"],
    ):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2, argv


def test_data_dir_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "voicebridge-data").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_data_dir(None, deep) == tmp_path / "voicebridge-data"
    assert find_data_dir(tmp_path / "x", deep) == (tmp_path / "x").resolve()
    assert CliRunner().invoke(cli_app, ["--help"]).exit_code == 0
