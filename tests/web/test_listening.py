"""The kiosk's "listening time until ..." and "next listening time: ..." answers."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.factories import Factory
from voicebridge.schools.listening import status

HOURS = [{"weekday": d, "start": "18:30", "end": "19:30"} for d in range(5)]


def test_inside_a_window_it_is_open_until_the_window_ends() -> None:
    # Thursday 2026-11-26 18:45 in Shanghai is 10:45 UTC.
    now = status(HOURS, "Asia/Shanghai", datetime(2026, 11, 26, 10, 45, tzinfo=UTC))
    assert now.open
    assert now.ends_at == datetime(2026, 11, 26, 11, 30, tzinfo=UTC)
    assert now.next_start == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def test_on_friday_night_the_next_window_is_monday() -> None:
    now = status(HOURS, "Asia/Shanghai", datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    assert not now.open
    assert now.ends_at is None
    assert now.next_start == datetime(2026, 11, 30, 10, 30, tzinfo=UTC)


def test_a_school_without_windows_is_always_open() -> None:
    now = status([], "Asia/Shanghai", datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    assert now.open
    assert now.next_start is None


def test_the_route_needs_a_device_and_answers_its_school(
    client: TestClient, factory: Factory
) -> None:
    school = factory.school()
    _, token = factory.device(school)
    assert client.get("/api/v1/device/listening-hours").status_code == 401
    answer = client.get("/api/v1/device/listening-hours", headers={"X-Device-Token": token})
    assert answer.status_code == 200
    body = answer.json()
    assert body["timezone"] == school.timezone
    assert isinstance(body["open"], bool)
