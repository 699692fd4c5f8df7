"""Signed webhooks for partner organisations.

Each request carries::

    X-VoiceBridge-Event: help.escalated
    X-VoiceBridge-Delivery: <idempotency key, the same on every retry>
    X-VoiceBridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

A receiver recomputes the HMAC over the raw body with its endpoint's secret,
compares in constant time, refuses a timestamp outside its window (five
minutes by default) and ignores a delivery key it has already processed.
``verify`` below does exactly that and is what our own tests use.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from voicebridge.notifications.channels import Outgoing, Receipt, SendFailed, tls_context
from voicebridge.notifications.config import WebhookSettings

SIGNATURE_HEADER = "X-VoiceBridge-Signature"
DELIVERY_HEADER = "X-VoiceBridge-Delivery"
EVENT_HEADER = "X-VoiceBridge-Event"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class InvalidSignature(Exception):
    pass


def verify(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None
) -> int:
    """Checks a signature header; returns its timestamp or raises ``InvalidSignature``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("no timestamp") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the replay window")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise InvalidSignature("signature mismatch")
    return timestamp


class WebhookSender:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> Receipt:
        body = outgoing.webhook_body
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "VoiceBridge-Webhooks/1",
            EVENT_HEADER: outgoing.kind,
            DELIVERY_HEADER: outgoing.key,
            # Signed at send time, so a retry an hour later is not refused as a replay.
            SIGNATURE_HEADER: sign(outgoing.webhook_secret, body, int(time.time())),
        }
        try:
            timeout = self.settings.timeout_seconds
            async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client:
                response = await client.post(outgoing.target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendFailed(f"endpoint unreachable: {type(exc).__name__}", retry=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            return Receipt(status_code=status)
        retry = status in (408, 409, 425, 429) or status >= 500
        raise SendFailed(f"endpoint answered {status}", retry=retry, status_code=status)
