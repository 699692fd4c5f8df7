"""VAPID keys (RFC 8292) for Web Push: generating, loading, and the public half browsers need.

Keys are the raw P-256 private scalar in base64url, the form web-push libraries
exchange. In development, when none is configured, one is generated once into
the data directory (file mode 0600) so that subscriptions survive restarts.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from voicebridge.config import Environment, Settings

log = logging.getLogger(__name__)
DEV_KEY_FILE = "vapid-private-key.txt"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def generate() -> tuple[str, str]:
    """A new pair: (private key, public key), both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = _b64(key.private_numbers().private_value.to_bytes(32, "big"))
    return private, public_key_of(Vapid02.from_raw(private.encode()))


def public_key_of(vapid: Vapid02) -> str:
    """The application server key for ``PushManager.subscribe`` (uncompressed point)."""
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64(point)


def _dev_key(data_dir: Path) -> str:
    path = data_dir / DEV_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    private, _ = generate()
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(private + "\n")
    log.warning("generated a development VAPID key", extra={"path": str(path)})
    return private


def load(settings: Settings) -> Vapid02 | None:
    """The configured key; in development a generated one; otherwise None (push is off)."""
    configured = settings.notifications.push.vapid_private_key
    if configured is not None:
        return Vapid02.from_string(configured.get_secret_value().strip())
    if settings.environment is Environment.development:
        try:
            return Vapid02.from_string(_dev_key(settings.data_dir))
        except (FileExistsError, OSError):
            log.exception("no development VAPID key")
    return None
