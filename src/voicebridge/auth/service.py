"""Signing in and out: sessions, rotating refresh tokens, school devices, child PINs."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.auth import throttle
from voicebridge.auth.models import AuthSession, Device, RefreshToken
from voicebridge.auth.passwords import Passwords, hash_secret, new_secret
from voicebridge.auth.tokens import decode_access_token, issue_access_token
from voicebridge.config import AuthSettings
from voicebridge.errors import NotFound, TooManyAttempts, Unauthorized
from voicebridge.schools.models import Child

log = logging.getLogger(__name__)

LOGIN_SCOPE = "login"  # one login, from every client
LOGIN_PAIR_SCOPE = "login-client"  # one login from one client
CLIENT_SCOPE = "client"  # one client, across logins
PIN_DEVICE_SCOPE = "pin-device"  # one device, across its children
PIN_PAIR_SCOPE = "pin-pair"  # one device, one child
PIN_CHILD_SCOPE = "pin-child"  # one child, from every device (source = device)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: User


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the sign-in their token belongs to."""

    user: User
    session: AuthSession

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def role(self) -> Role:
        return self.user.role


def start_session(
    session: Session,
    settings: AuthSettings,
    user: User,
    *,
    lifetime: timedelta,
    device_id: uuid.UUID | None = None,
) -> TokenPair:
    now = clock.now()
    auth_session = AuthSession(user_id=user.id, device_id=device_id, expires_at=now + lifetime)
    session.add(auth_session)
    session.flush()
    return _issue_pair(session, settings, user, auth_session)


def _issue_pair(
    session: Session, settings: AuthSettings, user: User, auth_session: AuthSession
) -> TokenPair:
    now = clock.now()
    refresh = new_secret()
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=hash_secret(refresh),
            expires_at=auth_session.expires_at,
        )
    )
    access_life = min(
        timedelta(minutes=settings.access_token_minutes), auth_session.expires_at - now
    )
    access, access_exp = issue_access_token(
        settings, user.id, auth_session.id, user.role.value, access_life
    )
    session.flush()
    return TokenPair(access, access_exp, refresh, auth_session.expires_at, user)


def login(
    session: Session,
    settings: AuthSettings,
    passwords: Passwords,
    login_name: str,
    password: str,
    client: str = "unknown",
) -> TokenPair:
    """Wrong passwords slow down the one who types them, not the account's owner.

    The login-and-client pair and the client each wait longer after every failure;
    the login as a whole waits only a little (``login_global_max_delay_seconds``),
    so a stranger cannot lock anyone out by knowing their phone number.
    """
    window = timedelta(minutes=settings.login_window_minutes)
    pair = f"{login_name}|{client}"[:200]
    for scope, key, free, cap in (
        (LOGIN_PAIR_SCOPE, pair, settings.login_free_failures, settings.login_max_delay_seconds),
        (CLIENT_SCOPE, client, settings.client_free_failures, settings.client_max_delay_seconds),
        (
            LOGIN_SCOPE,
            login_name,
            settings.login_global_free_failures,
            settings.login_global_max_delay_seconds,
        ),
    ):
        throttle.ensure_not_waiting(session, scope, key, window, free, cap)
    user = session.exec(select(User).where(User.login == login_name)).first()
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active or user.role is Role.child:
        throttle.record_failure(session, LOGIN_PAIR_SCOPE, pair, client)
        throttle.record_failure(session, CLIENT_SCOPE, client, client)
        throttle.record_failure(session, LOGIN_SCOPE, login_name, client)
        raise Unauthorized("Wrong login or password", persist=True)
    throttle.clear(session, LOGIN_PAIR_SCOPE, pair)
    return start_session(
        session, settings, user, lifetime=timedelta(days=settings.refresh_token_days)
    )


def refresh(session: Session, settings: AuthSettings, token: str) -> TokenPair:
    """Rotate a refresh token. Presenting one that was already used revokes its family.

    A used token coming back means someone else holds a copy: the thief or the
    owner, we cannot tell which, so the whole sign-in ends.
    """
    now = clock.now()
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_secret(token))
    ).first()
    if row is None:
        raise Unauthorized("Unknown refresh token")
    auth_session = session.get(AuthSession, row.session_id)
    if auth_session is None or auth_session.revoked_at is not None:
        raise Unauthorized("Signed out")
    if row.used_at is not None:
        revoke_session(session, auth_session, "refresh-reuse")
        raise Unauthorized("Refresh token reused; signed out everywhere", persist=True)
    if row.expires_at <= now or auth_session.expires_at <= now:
        raise Unauthorized("Refresh token expired")
    user = session.get(User, auth_session.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Account disabled")
    # Conditional update so two concurrent refreshes cannot both succeed.
    result = session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.id) == row.id, col(RefreshToken.used_at).is_(None))
        .values(used_at=now)
    )
    if result.rowcount != 1:
        revoke_session(session, auth_session, "refresh-reuse")
        raise Unauthorized("Refresh token reused; signed out everywhere", persist=True)
    return _issue_pair(session, settings, user, auth_session)


def revoke_session(session: Session, auth_session: AuthSession, reason: str) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = clock.now()
        auth_session.revoked_reason = reason
        session.add(auth_session)
        session.flush()


def revoke_user_sessions(session: Session, user_id: uuid.UUID, reason: str) -> None:
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now(), revoked_reason=reason)
    )


def authenticate(session: Session, settings: AuthSettings, token: str) -> Principal:
    """Checks the token and, on every request, the sign-in and the account behind it.

    The database look-up is what makes logout and a disabled account take effect
    on the very next request instead of when the token expires.
    """
    claims = decode_access_token(settings, token)
    auth_session = session.get(AuthSession, claims.session_id)
    now = clock.now()
    if (
        auth_session is None
        or auth_session.user_id != claims.user_id
        or auth_session.revoked_at is not None
        or auth_session.expires_at <= now
    ):
        raise Unauthorized("Signed out")
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Account disabled")
    if user.role is Role.child:
        child = session.get(Child, user.id)
        if child is None or child.left_at is not None:
            raise Unauthorized("Not enrolled")
    return Principal(user=user, session=auth_session)


def register_device(
    session: Session, settings: AuthSettings, school_id: uuid.UUID, name: str, by: uuid.UUID
) -> tuple[Device, str]:
    token = "dev_" + new_secret()
    device = Device(
        school_id=school_id,
        name=name,
        token_hash=hash_secret(token),
        created_by=by,
        expires_at=clock.now() + timedelta(days=settings.device_token_days),
    )
    session.add(device)
    session.flush()
    return device, token


def rotate_device_credential(
    session: Session, settings: AuthSettings, device: Device
) -> tuple[Device, str]:
    """A new credential for a device (lost, leaked, or due): the old one stops at once,
    and so does whatever child session the device had open."""
    if device.revoked_at is not None:
        raise NotFound("No such device")
    token = "dev_" + new_secret()
    device.token_hash = hash_secret(token)
    device.expires_at = clock.now() + timedelta(days=settings.device_token_days)
    session.add(device)
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.device_id) == device.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now(), revoked_reason="device-rotated")
    )
    session.flush()
    return device, token


def authenticate_device(session: Session, token: str) -> Device:
    device = session.exec(select(Device).where(Device.token_hash == hash_secret(token))).first()
    now = clock.now()
    if device is None or device.revoked_at is not None or device.expires_at <= now:
        raise Unauthorized("Unknown or revoked device")
    return device


def revoke_device(session: Session, device: Device) -> None:
    device.revoked_at = clock.now()
    session.add(device)
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.device_id) == device.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now(), revoked_reason="device-revoked")
    )
    session.flush()


def child_login(
    session: Session,
    settings: AuthSettings,
    passwords: Passwords,
    device: Device,
    child_id: uuid.UUID,
    pin: str,
) -> TokenPair:
    """A child signs in on a shared school device with their PIN.

    Wrong PINs slow the device that types them (per child, and across its
    children), with growing waits. The PIN itself locks (a teacher resets it)
    only when wrong PINs came from several devices, or when, after the child's
    teachers were alerted to one device's guessing, the guessing goes on. So one
    tablet cannot lock a whole class out. Signing in ends the previous child's
    session on the same device, so the next child never sees someone else's
    messages.
    """
    device_key = str(device.id)
    window = timedelta(minutes=settings.login_window_minutes)
    pair = f"{device.id}|{child_id}"
    throttle.ensure_not_waiting(
        session,
        PIN_DEVICE_SCOPE,
        device_key,
        window,
        settings.pin_device_free_failures,
        settings.pin_device_max_delay_seconds,
    )
    throttle.ensure_not_waiting(
        session,
        PIN_PAIR_SCOPE,
        pair,
        window,
        max(1, settings.pin_max_failures - 2),
        settings.pin_device_max_delay_seconds,
    )
    child = session.get(Child, child_id)
    if child is None or child.school_id != device.school_id or child.left_at is not None:
        raise NotFound("No such child at this school")
    if child.pin_locked_at is not None:
        raise TooManyAttempts("PIN locked; ask a teacher to reset it", retry_after=3600)
    if not passwords.verify(child.pin_hash, pin):
        _pin_failure(session, settings, device, child, pair, window)
        if child.pin_locked_at is not None:
            raise TooManyAttempts(
                "PIN locked; ask a teacher to reset it", retry_after=3600, persist=True
            )
        raise Unauthorized("Wrong PIN", persist=True)
    throttle.clear(session, PIN_PAIR_SCOPE, pair)
    child.pin_failures = 0
    session.add(child)
    device.last_seen_at = clock.now()
    session.add(device)
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.device_id) == device.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=clock.now(), revoked_reason="next-child")
    )
    user = session.get(User, child.id)
    if user is None or not user.is_active:
        raise Unauthorized("Account disabled")
    return start_session(
        session,
        settings,
        user,
        lifetime=timedelta(minutes=settings.child_session_minutes),
        device_id=device.id,
    )


def _pin_failure(
    session: Session,
    settings: AuthSettings,
    device: Device,
    child: Child,
    pair: str,
    window: timedelta,
) -> None:
    source = str(device.id)
    throttle.record_failure(session, PIN_DEVICE_SCOPE, source, source)
    throttle.record_failure(session, PIN_PAIR_SCOPE, pair, source)
    throttle.record_failure(session, PIN_CHILD_SCOPE, str(child.id), source)
    child.pin_failures += 1
    total = throttle.failures(session, PIN_CHILD_SCOPE, str(child.id), window)
    from_devices = throttle.sources(session, PIN_CHILD_SCOPE, str(child.id), window)
    if (
        total >= settings.pin_max_failures
        and from_devices >= settings.pin_lock_sources
        or child.pin_alerted_at is not None
        and child.pin_failures >= 2 * settings.pin_max_failures
    ):
        child.pin_locked_at = clock.now()
    elif child.pin_alerted_at is None and child.pin_failures >= settings.pin_max_failures:
        child.pin_alerted_at = clock.now()
        _alert_teachers(session, device, child)
    session.add(child)
    session.flush()


def _alert_teachers(session: Session, device: Device, child: Child) -> None:
    """Tells the school that someone keeps guessing this child's PIN on one device."""
    log.warning(
        "repeated wrong PINs",
        extra={"child_id": str(child.id), "device_id": str(device.id)},
    )
    from voicebridge.notifications import events  # the notifications import auth models

    events.pin_guessing(session, child=child, device=device)
