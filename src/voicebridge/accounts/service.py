"""Accounts: creating, listing and disabling users."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, or_, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.auth.passwords import Passwords
from voicebridge.auth.service import revoke_user_sessions
from voicebridge.errors import Conflict
from voicebridge.pagination import decode_cursor


def create_user(
    session: Session,
    passwords: Passwords,
    *,
    role: Role,
    login: str,
    display_name: str,
    password: str,
) -> User:
    if session.exec(select(User).where(User.login == login)).first() is not None:
        raise Conflict("That login is taken")
    user = User(
        role=role, login=login, display_name=display_name, password_hash=passwords.hash(password)
    )
    session.add(user)
    session.flush()
    return user


def disable_user(session: Session, user: User) -> User:
    if user.disabled_at is None:
        user.disabled_at = clock.now()
        session.add(user)
        revoke_user_sessions(session, user.id, "disabled")
        session.flush()
    return user


def enable_user(session: Session, user: User) -> User:
    user.disabled_at = None
    session.add(user)
    session.flush()
    return user


def list_users(
    session: Session, *, role: Role | None, cursor: str | None, limit: int
) -> list[User]:
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                col(User.created_at) > at,
                (col(User.created_at) == at) & (col(User.id) > last_id),
            )
        )
    return list(
        session.exec(stmt.order_by(col(User.created_at), col(User.id)).limit(limit + 1)).all()
    )


def get_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)
