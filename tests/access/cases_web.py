"""Routes the browser app added: the kiosk's listening-hours status.

Like the roster, it answers a school device (its credential, whoever is
signed in on it) and nobody without one.
"""

from __future__ import annotations

from tests.access.harness import ROLES, Case, Req, World, register


def _device(w: World) -> dict[str, str]:
    return {"X-Device-Token": w.device_a_token}


register(
    Case(
        "GET",
        "/api/v1/device/listening-hours",
        lambda w: Req("/api/v1/device/listening-hours", headers=_device(w), replace_auth=True),
        set(ROLES),
    )
)
