"""One small interface for every way out: ``await sender.send(outgoing) -> Receipt``.

A sender raises ``SendFailed`` when the provider said no or could not be
reached; ``retry`` tells whether trying again later can help, and ``gone`` that
the address no longer exists (a Web Push subscription answered 404 or 410).
The in-app channel has no sender: the notification row is the feed item.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import certifi


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one costs ~70 ms, a send a few."""
    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class Outgoing:
    """Everything a sender needs, already rendered; senders never read the database."""

    key: str  # the delivery's idempotency key, sent along so a repeat is recognisable
    target: str  # endpoint URL, e-mail address, phone number or webhook URL
    kind: str
    safety: bool
    language: str
    title: str = ""
    body: str = ""
    link: str = ""
    # Channel-specific parts.
    email_text: str = ""
    email_html: str = ""
    sms_template: str = ""
    sms_params: list[str] = field(default_factory=list)
    push_keys: dict[str, str] = field(default_factory=dict)  # {"p256dh": ..., "auth": ...}
    webhook_secret: str = ""
    webhook_body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    provider_id: str | None = None
    status_code: int | None = None


class SendFailed(Exception):
    def __init__(
        self, reason: str, *, retry: bool, gone: bool = False, status_code: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.gone = gone
        self.status_code = status_code


class Sender(Protocol):
    async def send(self, outgoing: Outgoing) -> Receipt: ...
