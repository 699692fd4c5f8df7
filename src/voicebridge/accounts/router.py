from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from voicebridge.accounts import service
from voicebridge.accounts.models import Role
from voicebridge.accounts.schemas import UserCreate, UserPage, UserPublic
from voicebridge.auth.deps import AdminPrincipal, CurrentPrincipal, PasswordsDep
from voicebridge.db import SessionDep
from voicebridge.errors import Conflict, NotFound
from voicebridge.pagination import DEFAULT_LIMIT, MAX_LIMIT, encode_cursor

router = APIRouter(tags=["accounts"])


@router.get("/me")
def me(principal: CurrentPrincipal) -> UserPublic:
    return UserPublic.model_validate(principal.user)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, _: AdminPrincipal, session: SessionDep, passwords: PasswordsDep
) -> UserPublic:
    user = service.create_user(
        session,
        passwords,
        role=body.role,
        login=body.login,
        display_name=body.display_name,
        password=body.password,
    )
    return UserPublic.model_validate(user)


@router.get("/users")
def list_users(
    _: AdminPrincipal,
    session: SessionDep,
    role: Role | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> UserPage:
    rows = service.list_users(session, role=role, cursor=cursor, limit=limit)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return UserPage(items=[UserPublic.model_validate(u) for u in page], next_cursor=next_cursor)


@router.post("/users/{user_id}/disable")
def disable_user(user_id: uuid.UUID, principal: AdminPrincipal, session: SessionDep) -> UserPublic:
    user = service.get_user(session, user_id)
    if user is None:
        raise NotFound("No such user")
    if user.id == principal.id:
        raise Conflict("Administrators cannot disable themselves")
    return UserPublic.model_validate(service.disable_user(session, user))


@router.post("/users/{user_id}/enable")
def enable_user(user_id: uuid.UUID, _: AdminPrincipal, session: SessionDep) -> UserPublic:
    user = service.get_user(session, user_id)
    if user is None:
        raise NotFound("No such user")
    return UserPublic.model_validate(service.enable_user(session, user))
