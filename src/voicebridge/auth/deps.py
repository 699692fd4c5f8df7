"""FastAPI dependencies for the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voicebridge.accounts.models import Role
from voicebridge.auth import service
from voicebridge.auth.models import Device
from voicebridge.auth.passwords import Passwords
from voicebridge.config import Settings
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]


def current_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> service.Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Sign in first")
    principal = service.authenticate(session, settings.auth, credentials.credentials)
    request.state.authenticated = True
    request.state.user_id = str(principal.id)
    return principal


CurrentPrincipal = Annotated[service.Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> object:
    def _check(principal: CurrentPrincipal) -> service.Principal:
        if principal.role not in roles:
            raise Forbidden("This account cannot do that")
        return principal

    return Depends(_check)


def _admin(principal: CurrentPrincipal) -> service.Principal:
    if principal.role is not Role.admin:
        raise Forbidden("Administrators only")
    return principal


def _guardian(principal: CurrentPrincipal) -> service.Principal:
    if principal.role is not Role.guardian:
        raise Forbidden("Guardians only")
    return principal


def _child(principal: CurrentPrincipal) -> service.Principal:
    if principal.role is not Role.child:
        raise Forbidden("Children only")
    return principal


AdminPrincipal = Annotated[service.Principal, Depends(_admin)]
GuardianPrincipal = Annotated[service.Principal, Depends(_guardian)]
ChildPrincipal = Annotated[service.Principal, Depends(_child)]


def current_device(
    request: Request,
    session: SessionDep,
    x_device_token: Annotated[
        str | None, Header(description="A school device's credential")
    ] = None,
) -> Device:
    if not x_device_token:
        raise Unauthorized("This needs a registered school device")
    device = service.authenticate_device(session, x_device_token)
    request.state.authenticated = True
    return device


CurrentDevice = Annotated[Device, Depends(current_device)]
