from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from voicebridge.accounts import service as accounts
from voicebridge.accounts.models import Role
from voicebridge.accounts.schemas import UserPublic
from voicebridge.auth import phone, service, throttle
from voicebridge.auth.deps import CurrentDevice, CurrentPrincipal, PasswordsDep, SettingsDep
from voicebridge.auth.schemas import (
    ChildLoginRequest,
    CodeRequest,
    CodeSent,
    GuardianRegister,
    LoginRequest,
    PasswordReset,
    RefreshRequest,
    TokenResponse,
)
from voicebridge.db import SessionDep
from voicebridge.openapi import problems

router = APIRouter(prefix="/auth", tags=["auth"])
REGISTER_SCOPE = "register-client"


def client_of(request: Request) -> str:
    """The caller's address (behind the proxy, uvicorn's proxy headers set it)."""
    return request.client.host if request.client else "unknown"


def _tokens(pair: service.TokenPair, response: Response) -> TokenResponse:
    # Credentials: never cached by anything between us and the client (RFC 6749 5.1).
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=pair.access_token,
        access_expires_at=pair.access_expires_at,
        refresh_token=pair.refresh_token,
        refresh_expires_at=pair.refresh_expires_at,
        user=UserPublic.model_validate(pair.user),
    )


@router.post("/phone-codes", status_code=status.HTTP_202_ACCEPTED, responses=problems(429))
def request_phone_code(
    body: CodeRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> CodeSent:
    """Sends a one-time code by SMS, to register a number or reset its password.

    The answer is the same whether or not the number has an account.
    """
    phone.request_code(session, settings.auth, body.phone, body.purpose, client_of(request))
    return CodeSent(expires_in_seconds=settings.auth.otp_minutes * 60)


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=problems(400, 429))
def register_guardian(
    body: GuardianRegister,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> UserPublic:
    """A parent or relative signs up with a phone number proved by its SMS code; a school
    must still verify them. A wrong, used or expired code answers 400, whoever owns the
    number, so the answer tells nobody which numbers have accounts."""
    throttle.hit(
        session,
        REGISTER_SCOPE,
        client_of(request),
        settings.limits.registrations_per_client_hour,
        timedelta(hours=1),
        "Registrations from this address",
    )
    phone.consume(session, settings.auth, body.phone, phone.Purpose.register, body.code)
    if phone.account_for(session, body.phone) is not None:
        # Only the number's owner (who has the code) can get here.
        raise phone.InvalidCode("This number already has an account; reset its password")
    user = accounts.create_user(
        session,
        passwords,
        role=Role.guardian,
        login=body.phone,
        display_name=body.display_name,
        password=body.password,
    )
    return UserPublic.model_validate(user)


@router.post("/password-reset", status_code=status.HTTP_204_NO_CONTENT, responses=problems(400))
def reset_password(
    body: PasswordReset, session: SessionDep, settings: SettingsDep, passwords: PasswordsDep
) -> None:
    """A new password for the account of a number proved by its SMS code; every sign-in
    of the account ends."""
    phone.consume(session, settings.auth, body.phone, phone.Purpose.password_reset, body.code)
    user = phone.account_for(session, body.phone)
    if user is None or user.role is Role.child:
        raise phone.InvalidCode("No account for this number")
    user.password_hash = passwords.hash(body.new_password)
    session.add(user)
    service.revoke_user_sessions(session, user.id, "password-reset")
    throttle.clear(session, service.LOGIN_SCOPE, body.phone)
    session.flush()


@router.post("/login", responses=problems(401, 429))
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> TokenResponse:
    pair = service.login(
        session, settings.auth, passwords, body.login, body.password, client_of(request)
    )
    return _tokens(pair, response)


@router.post("/refresh", responses=problems(401))
def refresh(
    body: RefreshRequest, response: Response, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    return _tokens(service.refresh(session, settings.auth, body.refresh_token), response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    service.revoke_session(session, principal.session, "logout")


@router.post("/child-login", responses=problems(429))
def child_login(
    body: ChildLoginRequest,
    response: Response,
    device: CurrentDevice,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
) -> TokenResponse:
    """On a registered school device, a child picks their name and types their PIN."""
    pair = service.child_login(session, settings.auth, passwords, device, body.child_id, body.pin)
    return _tokens(pair, response)
