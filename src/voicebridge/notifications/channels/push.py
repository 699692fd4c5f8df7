"""Web Push (RFC 8030) with payload encryption (RFC 8291, aes128gcm) and VAPID (RFC 8292).

pywebpush encrypts with http-ece and signs the VAPID JWT; this adapter adds the
headers that matter for alerts (``Urgency: high`` and a short TTL for safety) and
maps the push service's answers: 404/410 mean the subscription is gone.
"""

from __future__ import annotations

import hashlib
import json

import aiohttp
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from voicebridge.notifications.channels import Outgoing, Receipt, SendFailed, tls_context
from voicebridge.notifications.config import PushSettings


def payload(outgoing: Outgoing) -> bytes:
    """What the service worker receives; it shows ``title``/``body`` and opens ``url``."""
    body = {
        "kind": outgoing.kind,
        "title": outgoing.title,
        "body": outgoing.body,
        "url": outgoing.link,
        # One notification per tag: a repeated push replaces rather than adds.
        "tag": outgoing.key,
        "urgent": outgoing.safety,
        "sound": "alert" if outgoing.safety else None,
        "requireInteraction": outgoing.safety,
    }
    return json.dumps(body, ensure_ascii=False).encode()


class PushSender:
    def __init__(self, settings: PushSettings, vapid: Vapid02 | None) -> None:
        self.settings = settings
        self.vapid = vapid

    async def send(self, outgoing: Outgoing) -> Receipt:
        if self.vapid is None:
            raise SendFailed("Web Push is not configured (no VAPID key)", retry=False)
        ttl = self.settings.safety_ttl_seconds if outgoing.safety else self.settings.ttl_seconds
        # RFC 8030 Topic: at most 32 base64url characters; a pending duplicate is replaced.
        topic = hashlib.sha256(outgoing.key.encode()).hexdigest()[:32]
        headers: dict[str, str | int | float] = {
            "Urgency": "high" if outgoing.safety else "normal",
            "Topic": topic,
        }
        subscription: dict[str, str | bytes | dict[str, str | bytes]] = {
            "endpoint": outgoing.target,
            "keys": dict(outgoing.push_keys),
        }
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
        try:
            connector = aiohttp.TCPConnector(ssl=tls_context())
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
                response = await webpush_async(
                    subscription,
                    data=payload(outgoing).decode(),
                    vapid_private_key=self.vapid,
                    # A fresh dict each time: the library writes aud and exp into it.
                    vapid_claims={"sub": self.settings.vapid_subject},
                    ttl=ttl,
                    headers=headers,
                    aiohttp_session=http,
                )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                raise SendFailed(
                    f"subscription gone ({status})", retry=False, gone=True, status_code=status
                ) from exc
            retry = status is None or status == 429 or status >= 500
            raise SendFailed(
                f"push service answered {status}", retry=retry, status_code=status
            ) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SendFailed(f"push service unreachable: {type(exc).__name__}", retry=True) from exc
        if isinstance(response, str):  # only with curl=True, which we never ask for
            return Receipt()
        return Receipt(provider_id=response.headers.get("Location"), status_code=response.status)
