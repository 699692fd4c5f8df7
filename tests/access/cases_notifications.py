"""Cases for the feed, preferences, Web Push subscriptions, webhooks and undelivered alerts.

A feed is the caller's own: child_a's notification (a new message from
guardian_a) is 404 to everyone else, and a list never shows another person's
items. A push subscription belongs to the device's account. Webhooks and the
list of undelivered safety alerts are for administrators only.
"""

from __future__ import annotations

from typing import Any

from tests.access.harness import ROLES, Case, Req, World, register
from voicebridge.accounts.models import User
from voicebridge.notifications import outbox, service

SIGNED_IN = set(ROLES) - {"anonymous"}
P256DH = "B" + "A" * 86
AUTH = "A" * 22


def _notice(w: World) -> None:
    w.extras["notice"] = outbox.record(
        w.session,
        w.child_a.id,
        "message.new",
        {"thread_id": "t", "message_id": "m", "sender_name": "Mum"},
    )


def _feed_check(w: World, role: str, response: Any) -> None:
    notice_id = str(w.extras["notice"].id)
    if role == "child":
        assert notice_id in response.text, "the child lost their notification"
    else:
        assert notice_id not in response.text, f"{role} saw child_a's notification"


def _subscription(w: World) -> None:
    user = w.session.get(User, w.guardian_a.id)
    assert user is not None
    w.extras["sub"] = service.subscribe(
        w.session, user, "https://push.example.org/send/abc", P256DH, AUTH, None
    )


def _endpoint(w: World) -> None:
    w.extras["endpoint"] = service.create_endpoint(
        w.session,
        w.admin,
        name="Partner",
        url="https://partner.example.org/hooks",
        events=["help.escalated"],
        school_id=None,
    )


def _secret_hidden(w: World, role: str, response: Any) -> None:
    assert w.extras["endpoint"].secret not in response.text


N = "/api/v1/notifications"

register(Case("GET", N, lambda w: Req(url=N), SIGNED_IN, setup=_notice, check=_feed_check))
register(Case("GET", N + "/unread-count", lambda w: Req(url=N + "/unread-count"), SIGNED_IN))
register(
    Case(
        "POST",
        N + "/{notification_id}/read",
        lambda w: Req(url=f"{N}/{w.extras['notice'].id}/read"),
        {"child"},
        setup=_notice,
        expect=dict.fromkeys(SIGNED_IN - {"child"}, 404),
        note="another person's notification does not exist for the caller",
    )
)
register(Case("POST", N + "/read-all", lambda w: Req(url=N + "/read-all"), SIGNED_IN))
register(Case("GET", N + "/preferences", lambda w: Req(url=N + "/preferences"), SIGNED_IN))
register(
    Case(
        "PATCH",
        N + "/preferences",
        lambda w: Req(url=N + "/preferences", json={"language": "en", "quiet_start": "21:30"}),
        SIGNED_IN,
    )
)
register(Case("GET", N + "/push/key", lambda w: Req(url=N + "/push/key"), SIGNED_IN))
register(
    Case(
        "POST",
        N + "/push/subscriptions",
        lambda w: Req(
            url=N + "/push/subscriptions",
            json={
                "endpoint": "https://push.example.org/send/xyz",
                "keys": {"p256dh": P256DH, "auth": AUTH},
            },
        ),
        SIGNED_IN,
    )
)
register(
    Case(
        "DELETE",
        N + "/push/subscriptions/{subscription_id}",
        lambda w: Req(url=f"{N}/push/subscriptions/{w.extras['sub'].id}"),
        {"own_guardian"},
        setup=_subscription,
        expect=dict.fromkeys(SIGNED_IN - {"own_guardian"}, 404),
    )
)
ADMIN = {"admin"}
H = "/api/v1/admin/webhooks"
register(
    Case(
        "POST",
        H,
        lambda w: Req(
            url=H,
            json={
                "name": "NGO",
                "url": "https://ngo.example.org/hook",
                "events": ["help.escalated"],
                "school_id": str(w.school_a.id),
            },
        ),
        ADMIN,
    )
)
register(Case("GET", H, lambda w: Req(url=H), ADMIN, setup=_endpoint, check=_secret_hidden))
register(
    Case(
        "DELETE",
        H + "/{endpoint_id}",
        lambda w: Req(url=f"{H}/{w.extras['endpoint'].id}"),
        ADMIN,
        setup=_endpoint,
    )
)
register(
    Case(
        "GET",
        H + "/{endpoint_id}/deliveries",
        lambda w: Req(url=f"{H}/{w.extras['endpoint'].id}/deliveries"),
        ADMIN,
        setup=_endpoint,
    )
)
register(
    Case(
        "GET",
        "/api/v1/admin/notifications/undelivered",
        lambda w: Req(url="/api/v1/admin/notifications/undelivered"),
        ADMIN,
    )
)
