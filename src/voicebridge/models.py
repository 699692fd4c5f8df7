"""Imports every domain's tables so that SQLModel.metadata knows all of them.

Alembic and the test harness import this module; add a domain's models here.
"""

from voicebridge.accounts.models import User
from voicebridge.auth.models import Attempt, AuthSession, Device, RefreshToken
from voicebridge.db import metadata
from voicebridge.families.models import Consent, GuardianLink, Invitation
from voicebridge.schools.models import Child, School, SchoolClass, StaffMembership

__all__ = [
    "Attempt",
    "AuthSession",
    "Child",
    "Consent",
    "Device",
    "GuardianLink",
    "Invitation",
    "RefreshToken",
    "School",
    "SchoolClass",
    "StaffMembership",
    "User",
    "metadata",
]
