"""Argon2id hashing for passwords and PINs, and hashing of random secrets."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from voicebridge.config import AuthSettings


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


class Passwords:
    def __init__(self, settings: AuthSettings) -> None:
        self._ph = _hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
        # Verified against when the user does not exist, so that an unknown login
        # costs the same time as a wrong password and reveals nothing.
        self._dummy = self._ph.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, hashed: str | None, password: str) -> bool:
        try:
            return self._ph.verify(hashed or self._dummy, password) and hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    """Hash of a high-entropy random secret (refresh token, device token, code).

    These are random and long, so a fast hash is enough; a stolen table gives nothing.
    """
    return hashlib.sha256(secret.encode()).hexdigest()
