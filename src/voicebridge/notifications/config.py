"""Notification settings: providers for each channel, quiet hours, digests, nudges, reports.

Every provider is off or in development mode until configured, so the embedded
default runs with no outside service: e-mail and SMS go to the log, Web Push
keys are generated into the data directory on first use.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class PushSettings(BaseModel):
    """Web Push (RFC 8030) with VAPID (RFC 8292) to browsers and installed apps."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    vapid_private_key: SecretStr | None = None
    """The VAPID private key, a raw P-256 scalar in base64url (`voicebridge push keys` makes
    one); the public key is derived from it. Without it the development server keeps a
    generated key in the data directory, and production sends no Web Push."""
    vapid_subject: str = "mailto:ops@voicebridge.org"
    """Push services contact this address about abuse (the RFC 8292 `sub` claim)."""
    ttl_seconds: int = 24 * 3600
    """How long a push service keeps an ordinary notice for an offline device."""
    safety_ttl_seconds: int = 3600
    """How long a push service keeps a safety alert (after that it is stale)."""
    timeout_seconds: float = 10.0
    """Seconds to wait for a push service to answer."""


class EmailSettings(BaseModel):
    """E-mail over SMTP, plain text and HTML, in Chinese and English."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    backend: Literal["log", "smtp"] = "log"
    """`log` writes messages to the log (development); `smtp` sends them."""
    host: str = "127.0.0.1"
    """SMTP server."""
    port: int = 587
    """SMTP port (587 with STARTTLS, 465 with TLS)."""
    username: str | None = None
    """SMTP user name, when the server needs one."""
    password: SecretStr | None = None
    """SMTP password."""
    security: Literal["none", "starttls", "tls"] = "starttls"
    """`starttls` upgrades a plain connection (port 587); `tls` is TLS from the start (465)."""
    sender: str = "VoiceBridge <no-reply@voicebridge.org>"
    """The From address."""
    local_hostname: str | None = "voicebridge"
    """The name we greet the mail server with (EHLO); empty asks the system (a DNS lookup)."""
    timeout_seconds: float = 15.0
    """Seconds to wait for the mail server."""


class SmsSettings(BaseModel):
    """SMS through Tencent Cloud SMS (API 3.0, SendSms 2021-01-11, TC3-HMAC-SHA256)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    backend: Literal["log", "tencent"] = "log"
    """`log` writes messages to the log (development); `tencent` sends them."""
    endpoint: str = "https://sms.tencentcloudapi.com"
    """The provider's API address."""
    region: str = "ap-guangzhou"
    """The provider's region."""
    secret_id: str | None = None
    """Tencent Cloud API SecretId."""
    secret_key: SecretStr | None = None
    """Tencent Cloud API SecretKey."""
    sdk_app_id: str | None = None
    """The SMS application's SdkAppId."""
    sign_name: str = "VoiceBridge"
    """The approved signature shown before each message."""
    templates: dict[str, str] = Field(default_factory=dict)
    """Template ids approved in the provider's console, by our template name (JSON):
    verification_code, safety_alert, undelivered_alert, notice."""
    timeout_seconds: float = 10.0
    """Seconds to wait for the provider."""


class WebhookSettings(BaseModel):
    """Signed webhooks (HMAC-SHA256 with a timestamp) to partner NGOs."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    timeout_seconds: float = 10.0
    """Seconds to wait for a partner's endpoint."""
    tolerance_seconds: int = 300
    """Receivers should refuse a signature older than this (stated in the docs)."""


class NotificationSettings(BaseModel):
    """Who is told what, when, and through which channel; safety alerts ignore quiet hours."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    push: PushSettings = Field(default_factory=PushSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    quiet_start: str = "22:00"
    """Start of quiet hours for anyone who has not chosen their own, in their (or their
    school's) time zone."""
    quiet_end: str = "07:00"
    """End of the default quiet hours."""
    default_timezone: str = "Asia/Shanghai"
    """Time zone for people who have none of their own and no school."""
    digest_minutes: int = 60
    """A stream of listens becomes one notice this long after the first of them."""
    nudge_after_days: int = 7
    """A guardian who has sent nothing for this many days gets one gentle nudge (0: never)."""
    report_weekday: int = 0
    """Weekday (0 = Monday) of the weekly "children who have not heard from family" e-mail
    to each school's staff."""
    report_hour: int = 8
    """Local hour of that e-mail."""
    report_quiet_days: int = 14
    """Days without family contact that put a child on that e-mail."""
    max_attempts: int = 8
    """Attempts before an ordinary delivery is given up (a dead letter)."""
    safety_max_attempts: int = 4
    """Attempts before a safety alert is given up and escalated to the next people."""
