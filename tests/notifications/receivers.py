"""Loopback receivers that implement the real protocols, written from their specifications.

None of them shares code with what it checks: the Web Push receiver decrypts
with http-ece and verifies the VAPID JWT with ``cryptography``; the SMS server
recomputes Tencent Cloud's TC3-HMAC-SHA256 signature as its documentation
describes (and the official SDK's requests pass it, see test_channels); the
webhook receiver recomputes the HMAC and refuses a replay; the mail server is
aiosmtpd. Each records what arrived, raw and decoded, for the tests to search.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Arrival:
    """One request as received: the delivery key it carried and what it said."""

    key: str
    path: str
    payload: Any
    raw: bytes


class _Server:
    """A threaded HTTP server on 127.0.0.1 whose handler is ``self.handle``."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, reply = outer.handle(self.path, dict(self.headers.items()), body)
                data = json.dumps(reply).encode() if not isinstance(reply, bytes) else reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.arrivals: list[Arrival] = []
        self.rejected: list[str] = []
        # Called with each arrival before the answer goes back (the crash test kills here).
        self.on_arrival: Callable[[Arrival], None] | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def _arrived(self, arrival: Arrival) -> None:
        with self.lock:
            self.arrivals.append(arrival)
        if self.on_arrival is not None:
            self.on_arrival(arrival)

    def reject(self, why: str) -> tuple[int, Any]:
        with self.lock:
            self.rejected.append(why)
        return 401, {"error": why}

    def keys(self) -> list[str]:
        with self.lock:
            return [a.key for a in self.arrivals]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- Web Push (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID) ------------------------


@dataclass
class BrowserKeys:
    """What a browser makes for one subscription: an ECDH key pair and an auth secret."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64e(point)

    @property
    def auth_b64(self) -> str:
        return b64e(self.auth)


class PushService(_Server):
    """A push service: one endpoint per subscription, ``/push/<name>``."""

    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, BrowserKeys] = {}
        # name -> status to answer instead of 201 (404 or 410: the subscription is gone)
        self.answers: dict[str, int] = {}
        self.headers_seen: list[dict[str, str]] = []
        super().__init__()

    def subscription(self, name: str) -> tuple[str, BrowserKeys]:
        keys = self.browsers.setdefault(name, BrowserKeys())
        return f"{self.url}/push/{name}", keys

    def _check_vapid(self, authorization: str) -> str | None:
        """None when the VAPID header is valid, else why not."""
        if not authorization.startswith("vapid "):
            return "no vapid scheme"
        parts = dict(p.strip().split("=", 1) for p in authorization[6:].split(","))
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != self.vapid_public_key:
            return "unknown application server key"
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            signature = b64d(signature_b64)
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(key))
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except Exception as exc:  # noqa: BLE001 - any failure is a bad signature
            return f"bad JWT: {type(exc).__name__}"
        header, claims = json.loads(b64d(header_b64)), json.loads(b64d(claims_b64))
        if header.get("alg") != "ES256":
            return "alg is not ES256"
        if claims.get("aud") != self.url:
            return "aud is not the push service's origin"
        if not 0 < int(claims.get("exp", 0)) - time.time() <= 24 * 3600:
            return "exp not within 24 hours"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "no contact in sub"
        return None

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        name = path.rsplit("/", 1)[-1]
        lowered = {k.lower(): v for k, v in headers.items()}
        problem = self._check_vapid(lowered.get("authorization", ""))
        if problem is not None:
            return self.reject(problem)
        if lowered.get("content-encoding") != "aes128gcm" or "ttl" not in lowered:
            return self.reject("missing Content-Encoding aes128gcm or TTL")
        if name in self.answers:
            return self.answers[name], {}
        keys = self.browsers.get(name)
        if keys is None:
            return 404, {}
        plain = http_ece.decrypt(
            body, private_key=keys.private, auth_secret=keys.auth, version="aes128gcm"
        )
        payload = json.loads(plain)
        with self.lock:
            self.headers_seen.append(lowered)
        self._arrived(Arrival(payload["tag"], path, payload, plain))
        return 201, {}


# ---- Tencent Cloud SMS (API 3.0, TC3-HMAC-SHA256) ------------------------------------------


def tc3_expected(
    secret_key: str, method: str, headers: dict[str, str], body: bytes, authorization: str
) -> tuple[str, str, list[str]]:
    """(secret id, expected signature, signed headers) per Tencent Cloud's "Signature v3"."""
    fields = dict(
        part.strip().split("=", 1)
        for part in authorization.removeprefix("TC3-HMAC-SHA256 ").split(",")
    )
    secret_id, date, service, terminator = fields["Credential"].split("/")
    assert terminator == "tc3_request"
    signed = fields["SignedHeaders"].split(";")
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{h}:{lowered[h].strip().lower()}\n" for h in signed)
    canonical = "\n".join(
        [method, "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    timestamp = lowered["x-tc-timestamp"]
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    k = hmac.new(("TC3" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
    expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    assert date == datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    return secret_id, expected, signed


class TencentSms(_Server):
    SECRET_ID = "AKIDtestvoicebridge0000000000000000"
    SECRET_KEY = "test-secret-key-0123456789abcdef"
    APP_ID = "1400000001"

    def __init__(self) -> None:
        # Phone numbers the "operator" refuses (a permanent per-number failure).
        self.refuse: set[str] = set()
        super().__init__()

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        request_id = os.urandom(8).hex()
        try:
            secret_id, expected, signed = tc3_expected(
                self.SECRET_KEY, "POST", headers, body, lowered.get("authorization", "")
            )
        except (KeyError, ValueError, AssertionError):
            self.reject("malformed authorization")
            return 200, _tc_error("AuthFailure.SignatureFailure", "malformed", request_id)
        signature = lowered["authorization"].rsplit("Signature=", 1)[-1]
        if secret_id != self.SECRET_ID or not hmac.compare_digest(signature, expected):
            self.reject("signature mismatch")
            return 200, _tc_error("AuthFailure.SignatureFailure", "bad signature", request_id)
        if {"content-type", "host"} - set(signed):
            self.reject("content-type and host must be signed")
            return 200, _tc_error("AuthFailure.SignatureFailure", "headers", request_id)
        if abs(time.time() - int(lowered["x-tc-timestamp"])) > 300:
            self.reject("timestamp skew")
            return 200, _tc_error("AuthFailure.SignatureExpire", "expired", request_id)
        if lowered.get("x-tc-action") != "SendSms" or lowered.get("x-tc-version") != "2021-01-11":
            return 200, _tc_error("InvalidAction", "action", request_id)
        request = json.loads(body)
        phone = request["PhoneNumberSet"][0]
        if request.get("SmsSdkAppId") != self.APP_ID:
            return 200, _tc_error("InvalidParameterValue.SdkAppIdNotExist", "app", request_id)
        if phone in self.refuse:
            status = {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumber": phone}
            return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}
        self._arrived(Arrival(str(request.get("SessionContext", "")), path, request, body))
        status = {
            "SerialNo": request_id,
            "PhoneNumber": phone,
            "Fee": 1,
            "SessionContext": request.get("SessionContext", ""),
            "Code": "Ok",
            "Message": "send success",
            "IsoCode": "CN",
        }
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}


def _tc_error(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}


# ---- signed webhooks ----------------------------------------------------------------------


class WebhookReceiver(_Server):
    """Verifies ``X-VoiceBridge-Signature`` (HMAC-SHA256 over "<t>.<body>"), refuses replays."""

    def __init__(self, secret: str = "", tolerance: int = 300) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self.signatures: set[str] = set()
        self.fail_next = 0
        self.last_request: tuple[dict[str, str], bytes] = ({}, b"")
        super().__init__()

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        header = lowered.get("x-voicebridge-signature", "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError):
            return self.reject("no timestamp")
        if abs(time.time() - timestamp) > self.tolerance:
            return self.reject("outside the replay window")
        mac = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        if not hmac.compare_digest(mac.hexdigest(), parts.get("v1", "")):
            return self.reject("bad signature")
        with self.lock:
            if header in self.signatures:
                replay = True
            else:
                replay = False
                self.signatures.add(header)
        if replay:
            return self.reject("replayed request")
        self.last_request = (headers, body)
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {}
        key = lowered.get("x-voicebridge-delivery", "")
        self._arrived(Arrival(key, path, json.loads(body), body))
        return 200, {"ok": True}


# ---- SMTP ---------------------------------------------------------------------------------


class _Collect:
    def __init__(self, inbox: list[EmailMessage], lock: threading.Lock) -> None:
        self.inbox, self.lock = inbox, lock

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.inbox.append(message)
        return "250 OK"


class MailServer:
    def __init__(self, port: int) -> None:
        self.inbox: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.port = port
        handler = _Collect(self.inbox, self.lock)
        self.controller = Controller(handler, hostname="127.0.0.1", port=port)
        self.controller.start()

    def keys(self) -> list[str]:
        with self.lock:
            return [str(m["X-VoiceBridge-Delivery"]) for m in self.inbox]

    def close(self) -> None:
        self.controller.stop()
