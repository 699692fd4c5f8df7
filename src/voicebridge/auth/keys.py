"""Token signing keys: none in the source, each named by a ``kid``, rotatable.

Production configures the key (``auth.secret_key``, earlier ones in
``auth.previous_secret_keys``). Elsewhere, the first start generates a random
key into ``<data_dir>/signing-keys.json`` (mode 0600); ``voicebridge keys
rotate`` adds a new one there and retires the old, which still verifies tokens
until the longest of them expires. Every API process notices the file change.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from voicebridge import clock
from voicebridge.config import AuthSettings, Settings

KEYRING_FILE = "signing-keys.json"
# Retired keys verify tokens this much longer than the longest access token lives.
SLACK = timedelta(minutes=2)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: str
    created_at: datetime | None = None
    retired_at: datetime | None = None


def configured_kid(secret: str) -> str:
    """A configured key's id: derived from it, so every process agrees without a file."""
    return "c-" + hashlib.sha256(secret.encode()).hexdigest()[:16]


class Keyring:
    """The key that signs and the keys that still verify."""

    def __init__(self, auth: AuthSettings, path: Path | None) -> None:
        self._auth = auth
        self._path = path
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._mtime: float | None = None
        self._checked = 0.0
        if path is None:
            if not auth.secret_key:
                raise RuntimeError("no signing key: call voicebridge.auth.keys.load(settings)")
            self._keys = [SigningKey(configured_kid(auth.secret_key), auth.secret_key)] + [
                SigningKey(configured_kid(k), k) for k in auth.previous_secret_keys
            ]
        else:
            ensure_keyring(path)
            self._reload(force=True)

    @property
    def lifetime(self) -> timedelta:
        return timedelta(minutes=self._auth.access_token_minutes) + SLACK

    def _reload(self, force: bool = False) -> None:
        if self._path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return
        with self._lock:
            self._checked = now
            mtime = self._path.stat().st_mtime
            if not force and mtime == self._mtime:
                return
            self._keys = read_keyring(self._path)
            self._mtime = mtime

    def signing(self) -> SigningKey:
        self._reload()
        return next(k for k in self._keys if k.retired_at is None)

    def verifying(self, kid: str) -> SigningKey | None:
        self._reload()
        key = next((k for k in self._keys if k.kid == kid), None)
        if key is None and self._path is not None:
            self._reload(force=True)  # rotated by another process a moment ago
            key = next((k for k in self._keys if k.kid == kid), None)
        if key is None:
            return None
        if key.retired_at is not None and key.retired_at + self.lifetime <= clock.now():
            return None
        return key


def _new_key() -> SigningKey:
    return SigningKey("k-" + secrets.token_hex(8), secrets.token_urlsafe(48), clock.now())


def read_keyring(path: Path) -> list[SigningKey]:
    document = json.loads(path.read_text())
    keys = [
        SigningKey(
            str(k["kid"]),
            str(k["secret"]),
            datetime.fromisoformat(k["created_at"]) if k.get("created_at") else None,
            datetime.fromisoformat(k["retired_at"]) if k.get("retired_at") else None,
        )
        for k in document["keys"]
    ]
    if not any(k.retired_at is None for k in keys):
        raise ValueError(f"{path}: no current signing key")
    return keys


def write_keyring(path: Path, keys: list[SigningKey]) -> None:
    """Atomically, readable by the service's user only (0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "keys": [
            {
                "kid": k.kid,
                "secret": k.secret,
                "created_at": k.created_at.isoformat() if k.created_at else None,
                "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            }
            for k in keys
        ]
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(document, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ensure_keyring(path: Path) -> None:
    """The first start makes a key; two processes starting at once keep the same one."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    write_keyring(tmp, [_new_key()])
    try:
        os.link(tmp, path)  # fails if another process won the race
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def rotate(settings: Settings) -> SigningKey:
    """A new signing key; the old one verifies until its tokens expire, then is dropped."""
    if settings.auth.secret_key:
        raise ValueError(
            "the signing key is configured: set a new VOICEBRIDGE_AUTH__SECRET_KEY and move "
            "the old one to VOICEBRIDGE_AUTH__PREVIOUS_SECRET_KEYS until its tokens expire"
        )
    path = settings.data_dir / KEYRING_FILE
    ensure_keyring(path)
    now = clock.now()
    lifetime = timedelta(minutes=settings.auth.access_token_minutes) + SLACK
    kept = [
        SigningKey(k.kid, k.secret, k.created_at, k.retired_at or now)
        for k in read_keyring(path)
        if k.retired_at is None or k.retired_at + lifetime > now
    ]
    new = _new_key()
    write_keyring(path, [new, *kept])
    return new


def load(settings: Settings) -> Keyring:
    """Attaches the keyring to the settings: configured, or the data directory's file
    (generated on first start)."""
    path = None if settings.auth.secret_key else settings.data_dir / KEYRING_FILE
    ring = Keyring(settings.auth, path)
    settings.auth.attach_keyring(ring)
    return ring


def of(auth: AuthSettings) -> Keyring:
    ring = auth.keyring
    if ring is None:
        ring = Keyring(auth, None)
        auth.attach_keyring(ring)
    assert isinstance(ring, Keyring)
    return ring
