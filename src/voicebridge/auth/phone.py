"""Proving a phone number with a one-time SMS code (registration, password reset).

The answer to "send me a code" is the same whether or not the number has an
account, and a code is only sent where it can be used: for registration to a
number without an account, for a reset to one with an account. Codes are
random six-digit numbers kept only as a hash, void after a few wrong tries,
once used, or after ``otp_minutes``; requests are rate-limited per number and
per client address in the database, so every API process shares the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.auth import throttle
from voicebridge.auth.models import PhoneVerification
from voicebridge.config import AuthSettings
from voicebridge.errors import DomainError

PHONE_SCOPE = "otp-phone"
CLIENT_SCOPE = "otp-client"


class Purpose(StrEnum):
    register = "register"
    password_reset = "password_reset"


class InvalidCode(DomainError):
    status = 400
    slug = "invalid-code"
    title = "Invalid or expired code"


def _hash(verification: PhoneVerification, code: str) -> str:
    return hashlib.sha256(f"{verification.id}:{verification.phone}:{code}".encode()).hexdigest()


def account_for(session: Session, phone: str) -> User | None:
    return session.exec(select(User).where(User.login == phone)).first()


def request_code(
    session: Session, settings: AuthSettings, phone: str, purpose: Purpose, client: str
) -> str | None:
    """Sends a code if the number can use one; the code (for tests), or None."""
    throttle.hit(session, CLIENT_SCOPE, client, settings.otp_per_client_hour, HOUR, "SMS codes")
    throttle.hit(session, PHONE_SCOPE, phone, settings.otp_per_phone_hour, HOUR, "SMS codes")
    user = account_for(session, phone)
    usable = (
        user is None
        if purpose is Purpose.register
        else user is not None and user.is_active and user.role is not Role.child
    )
    if not usable:
        return None
    return issue(session, settings, phone, purpose)


HOUR = timedelta(hours=1)


def issue(session: Session, settings: AuthSettings, phone: str, purpose: Purpose) -> str:
    """A new code for the number (earlier ones die), queued as an SMS in this transaction."""
    from voicebridge.notifications import outbox  # notifications import auth models

    now = clock.now()
    for old in session.exec(
        select(PhoneVerification).where(
            PhoneVerification.phone == phone,
            PhoneVerification.purpose == purpose.value,
            col(PhoneVerification.used_at).is_(None),
        )
    ):
        old.used_at = now
        session.add(old)
    code = f"{secrets.randbelow(1_000_000):06d}"
    verification = PhoneVerification(
        phone=phone,
        purpose=purpose.value,
        code_hash="",
        expires_at=now + timedelta(minutes=settings.otp_minutes),
    )
    verification.code_hash = _hash(verification, code)
    session.add(verification)
    session.flush()
    outbox.send_transactional_sms(session, phone, "verification_code", [code], language="zh")
    return code


def consume(
    session: Session, settings: AuthSettings, phone: str, purpose: Purpose, code: str
) -> None:
    """Uses the number's live code, or raises InvalidCode (a wrong try is counted)."""
    now = clock.now()
    verification = session.exec(
        select(PhoneVerification)
        .where(
            PhoneVerification.phone == phone,
            PhoneVerification.purpose == purpose.value,
            col(PhoneVerification.used_at).is_(None),
        )
        .order_by(col(PhoneVerification.created_at).desc())
    ).first()
    if verification is None or verification.expires_at <= now:
        raise InvalidCode("No live code for this number; ask for a new one")
    if not hmac.compare_digest(verification.code_hash, _hash(verification, code)):
        verification.failures += 1
        if verification.failures >= settings.otp_max_attempts:
            verification.used_at = now
        session.add(verification)
        session.flush()
        raise InvalidCode("Wrong code", persist=True)
    verification.used_at = now
    session.add(verification)
    session.flush()
