"""JWT access tokens with python-jose, every claim required, one pinned algorithm.

python-jose checks ``exp`` and ``aud`` only when present, so we demand every
claim ourselves: a token missing ``exp`` or ``aud`` is refused, not trusted forever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from jose import JWTError, jwt

from voicebridge import clock
from voicebridge.auth import keys
from voicebridge.config import AuthSettings
from voicebridge.errors import Unauthorized

ACCESS = "access"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "typ", "sid")


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    expires_at: datetime


def issue_access_token(
    settings: AuthSettings,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    role: str,
    lifetime: timedelta | None = None,
) -> tuple[str, datetime]:
    now = clock.now()
    expires = now + (lifetime or timedelta(minutes=settings.access_token_minutes))
    claims = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": uuid.uuid4().hex,
        "typ": ACCESS,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    key = keys.of(settings).signing()
    token: str = jwt.encode(
        claims, key.secret, algorithm=settings.algorithm, headers={"kid": key.kid}
    )
    return token, expires


def decode_access_token(settings: AuthSettings, token: str) -> AccessClaims:
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise Unauthorized("Malformed token") from exc
    if header.get("alg") != settings.algorithm:
        raise Unauthorized("Token algorithm not accepted")
    kid = header.get("kid")
    key = keys.of(settings).verifying(kid) if isinstance(kid, str) else None
    if key is None:
        # No kid (a token from before keys had ids, or forged), or a retired key
        # whose tokens have all expired.
        raise Unauthorized("Unknown signing key")
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=[settings.algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_aud": True,
                "require_iss": True,
                "require_sub": True,
                "require_jti": True,
                # Expiry is checked below against voicebridge.clock, the one "now".
                "verify_exp": False,
                "verify_iat": False,
                "verify_aud": True,
            },
        )
    except JWTError as exc:
        raise Unauthorized("Invalid or expired token") from exc
    missing = [c for c in REQUIRED_CLAIMS if c not in claims]
    if missing:
        raise Unauthorized("Token lacks required claims")
    if claims["typ"] != ACCESS:
        raise Unauthorized("Not an access token")
    exp = claims["exp"]
    iat = claims["iat"]
    now = clock.now().timestamp()
    if not isinstance(exp, int | float) or exp <= now:
        raise Unauthorized("Token expired")
    if not isinstance(iat, int | float) or iat > now + 60:
        raise Unauthorized("Token issued in the future")
    try:
        return AccessClaims(
            user_id=uuid.UUID(str(claims["sub"])),
            session_id=uuid.UUID(str(claims["sid"])),
            jti=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(exp, clock.now().tzinfo),
        )
    except ValueError as exc:
        raise Unauthorized("Malformed token claims") from exc
