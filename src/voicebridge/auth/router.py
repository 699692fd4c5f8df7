from __future__ import annotations

from fastapi import APIRouter, status

from voicebridge.accounts import service as accounts
from voicebridge.accounts.models import Role
from voicebridge.accounts.schemas import GuardianRegister, UserPublic
from voicebridge.auth import service
from voicebridge.auth.deps import CurrentDevice, CurrentPrincipal, PasswordsDep, SettingsDep
from voicebridge.auth.schemas import ChildLoginRequest, LoginRequest, RefreshRequest, TokenResponse
from voicebridge.db import SessionDep
from voicebridge.openapi import problems

router = APIRouter(prefix="/auth", tags=["auth"])


def _tokens(pair: service.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        access_expires_at=pair.access_expires_at,
        refresh_token=pair.refresh_token,
        refresh_expires_at=pair.refresh_expires_at,
        user=UserPublic.model_validate(pair.user),
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register_guardian(
    body: GuardianRegister, session: SessionDep, passwords: PasswordsDep
) -> UserPublic:
    """A parent or relative signs up with a phone number; a school must still verify them."""
    user = accounts.create_user(
        session,
        passwords,
        role=Role.guardian,
        login=body.phone,
        display_name=body.display_name,
        password=body.password,
    )
    return UserPublic.model_validate(user)


@router.post("/login", responses=problems(401, 429))
def login(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, passwords: PasswordsDep
) -> TokenResponse:
    return _tokens(service.login(session, settings.auth, passwords, body.login, body.password))


@router.post("/refresh", responses=problems(401))
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    return _tokens(service.refresh(session, settings.auth, body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    service.revoke_session(session, principal.session, "logout")


@router.post("/child-login", responses=problems(429))
def child_login(
    body: ChildLoginRequest,
    device: CurrentDevice,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> TokenResponse:
    """On a registered school device, a child picks their name and types their PIN."""
    pair = service.child_login(session, settings.auth, passwords, device, body.child_id, body.pin)
    return _tokens(pair)
