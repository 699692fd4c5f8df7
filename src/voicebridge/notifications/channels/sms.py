"""SMS through Tencent Cloud SMS (API 3.0, ``SendSms`` version 2021-01-11), and a log backend.

Requests are signed with TC3-HMAC-SHA256 as Tencent Cloud documents it
("Signature v3"): a canonical request over the method, path, query, the signed
headers (names and values lower-cased) and the SHA-256 of the body; a string to
sign with the timestamp and the credential scope ``date/service/tc3_request``;
a signing key derived by HMAC-SHA256 from ``"TC3" + SecretKey`` through the UTC
date, the service and ``tc3_request``.

Mainland China only delivers SMS from approved templates, so we send a template
id and its parameters, never free text; ``templates.SMS_TEXT`` holds the wording
that was submitted for approval.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from voicebridge.notifications import templates
from voicebridge.notifications.channels import Outgoing, Receipt, SendFailed, tls_context
from voicebridge.notifications.config import SmsSettings

log = logging.getLogger("voicebridge.notifications.sms")

SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = ("content-type", "host", "x-tc-action")
# Error codes after which the same request can succeed later.
RETRYABLE_PREFIXES = (
    "InternalError",
    "LimitExceeded.DeliveryFrequencyLimit",
    "RequestLimitExceeded",
)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    action: str,
    payload: bytes,
    timestamp: int,
    service: str = SERVICE,
) -> str:
    """The ``Authorization`` header value for a POST of ``payload`` to ``host``/."""
    headers = {"content-type": CONTENT_TYPE, "host": host, "x-tc-action": action}
    canonical_headers = "".join(f"{name}:{headers[name].lower()}\n" for name in SIGNED_HEADERS)
    signed = ";".join(SIGNED_HEADERS)
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed, hashlib.sha256(payload).hexdigest()]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


class TencentSmsSender:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def request(self, outgoing: Outgoing, timestamp: int | None = None) -> httpx.Request:
        s = self.settings
        if not (s.secret_id and s.secret_key and s.sdk_app_id):
            raise SendFailed(
                "Tencent Cloud SMS needs secret_id, secret_key and sdk_app_id", retry=False
            )
        template_id = s.templates.get(outgoing.sms_template)
        if not template_id:
            raise SendFailed(f"no template id for {outgoing.sms_template!r}", retry=False)
        body = {
            "PhoneNumberSet": [outgoing.target],
            "SmsSdkAppId": s.sdk_app_id,
            "SignName": s.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": list(outgoing.sms_params),
            # Returned unchanged in status callbacks: our idempotency key.
            "SessionContext": outgoing.key,
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        host = urlsplit(s.endpoint).netloc
        stamp = timestamp if timestamp is not None else int(time.time())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(stamp),
            "X-TC-Region": s.region,
            "Authorization": tc3_authorization(
                secret_id=s.secret_id,
                secret_key=s.secret_key.get_secret_value(),
                host=host,
                action=ACTION,
                payload=payload,
                timestamp=stamp,
            ),
        }
        return httpx.Request("POST", s.endpoint.rstrip("/") + "/", content=payload, headers=headers)

    async def send(self, outgoing: Outgoing) -> Receipt:
        request = self.request(outgoing)
        try:
            timeout = self.settings.timeout_seconds
            async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client:
                response = await client.send(request)
        except httpx.HTTPError as exc:
            raise SendFailed(f"SMS provider unreachable: {type(exc).__name__}", retry=True) from exc
        if response.status_code >= 500:
            raise SendFailed(f"SMS provider answered {response.status_code}", retry=True)
        try:
            answer = response.json()["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SendFailed("SMS provider sent an unreadable answer", retry=True) from exc
        error = answer.get("Error")
        if error:
            code = str(error.get("Code", ""))
            raise SendFailed(
                f"{code}: {str(error.get('Message', ''))[:200]}",
                retry=code.startswith(RETRYABLE_PREFIXES),
                status_code=response.status_code,
            )
        statuses = answer.get("SendStatusSet") or [{}]
        status = statuses[0]
        if status.get("Code") != "Ok":
            code = str(status.get("Code", "unknown"))
            raise SendFailed(
                f"{code}: {str(status.get('Message', ''))[:200]}",
                retry=code.startswith(RETRYABLE_PREFIXES),
                status_code=response.status_code,
            )
        return Receipt(provider_id=status.get("SerialNo"), status_code=response.status_code)


class LogSmsSender:
    """Development: the text goes to the log (codes too, so a developer can sign up)."""

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> Receipt:
        text = templates.sms_text(outgoing.sms_template, outgoing.sms_params, outgoing.language)
        log.info(
            "SMS (log backend)", extra={"to": outgoing.target, "text": text, "key": outgoing.key}
        )
        return Receipt(provider_id="log")
