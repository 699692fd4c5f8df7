"""Cases for the data lifecycle: consent notice, closing a record, exports, erasure, audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.access.harness import ROLES, Case, Req, World, register
from voicebridge import clock
from voicebridge.families import service as families
from voicebridge.privacy.config import PrivacySettings
from voicebridge.privacy.models import DataExport, ExportState
from voicebridge.storage.base import new_key

EVERYONE = set(ROLES)
GUARDIANS = {"own_guardian", "other_guardian"}
CURRENT = PrivacySettings().notice_version


def _link(w: World) -> None:
    w.extras["link"] = families.links_of_child(w.session, w.child_a.id)[0][0]


def _export(w: World, ready: bool = False) -> None:
    export = DataExport(guardian_id=w.guardian_a.id)
    if ready:
        key = new_key("export", "zip")
        info = w.store.put_bytes(key, b"PK\x05\x06" + b"\0" * 18, "application/zip")
        export.object_key, export.size, export.state = key, info.size, ExportState.ready
        export.ready_at = clock.now()
        export.expires_at = clock.now() + timedelta(hours=w.settings.privacy.export_link_hours)
    w.session.add(export)
    w.session.flush()
    w.extras["export"] = export


def _ready_export(w: World) -> None:
    _export(w, ready=True)


def _not_listing_export(w: World, role: str, response: Any) -> None:
    if role == "other_guardian":
        assert str(w.extras["export"].id) not in response.text, "another guardian's export"


for case in [
    Case("GET", "/api/v1/consent-notice", lambda w: Req("/api/v1/consent-notice"), EVERYONE),
    Case(
        "POST",
        "/api/v1/guardian-links/{link_id}/consent",
        lambda w: Req(
            f"/api/v1/guardian-links/{w.extras['link'].id}/consent",
            json={
                "notice_version": CURRENT,
                "purposes": ["voice_messages"],
                "retention_days": 90,
                "agreed": True,
            },
        ),
        {"own_guardian"},
        setup=_link,
    ),
    Case(
        "POST",
        "/api/v1/children/{child_id}/close",
        lambda w: Req(f"/api/v1/children/{w.child_a.id}/close", json={"reason": "Moved away"}),
        {"school_staff", "admin"},
    ),
    Case("POST", "/api/v1/me/exports", lambda w: Req("/api/v1/me/exports"), GUARDIANS),
    Case(
        "GET",
        "/api/v1/me/exports",
        lambda w: Req("/api/v1/me/exports"),
        GUARDIANS,
        setup=_export,
        check=_not_listing_export,
    ),
    Case(
        "GET",
        "/api/v1/me/exports/{export_id}",
        lambda w: Req(f"/api/v1/me/exports/{w.extras['export'].id}"),
        {"own_guardian"},
        setup=_export,
    ),
    Case(
        "GET",
        "/api/v1/me/exports/{export_id}/download",
        lambda w: Req(f"/api/v1/me/exports/{w.extras['export'].id}/download"),
        {"own_guardian"},
        setup=_ready_export,
    ),
    Case(
        "POST",
        "/api/v1/me/erasure",
        lambda w: Req("/api/v1/me/erasure", json={"confirm": True}),
        GUARDIANS,
    ),
    Case(
        "POST",
        "/api/v1/users/{user_id}/erase",
        lambda w: Req(f"/api/v1/users/{w.guardian_a.id}/erase", json={"confirm": True}),
        {"admin"},
    ),
    Case(
        "GET",
        "/api/v1/admin/audit",
        lambda w: Req("/api/v1/admin/audit", params={"action": "invitation", "limit": 5}),
        {"admin"},
    ),
]:
    register(case)
