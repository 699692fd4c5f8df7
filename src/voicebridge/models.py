"""Imports every domain's tables so that SQLModel.metadata knows all of them.

Alembic and the test harness import this module; add a domain's models here.
"""

from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.auth.models import Attempt, AuthSession, Device, RefreshToken
from voicebridge.db import metadata
from voicebridge.families.models import Consent, GuardianLink, Invitation
from voicebridge.help.models import (
    CaseAccessLog,
    Escalation,
    HelpAlert,
    HelpMessage,
    HelpRequest,
    Offer,
    PsychologistProfile,
    Referral,
)
from voicebridge.idempotency.models import IdempotencyRecord
from voicebridge.jobs.models import Job
from voicebridge.live.models import LiveEvent
from voicebridge.messages.models import Listen, Message, Thread
from voicebridge.notifications.models import (
    Delivery,
    DeliveryAttempt,
    Notification,
    Preference,
    PushSubscription,
    WebhookEndpoint,
)
from voicebridge.privacy import models as privacy_models  # noqa: F401
from voicebridge.schools.models import Child, School, SchoolClass, StaffMembership
from voicebridge.stories import models as stories_models  # noqa: F401
from voicebridge.transcripts.models import Transcript
from voicebridge.uploads.models import Upload

__all__ = [
    "Attempt",
    "AudioAsset",
    "AuthSession",
    "CaseAccessLog",
    "Child",
    "Consent",
    "Delivery",
    "DeliveryAttempt",
    "Device",
    "Escalation",
    "HelpAlert",
    "HelpMessage",
    "HelpRequest",
    "GuardianLink",
    "IdempotencyRecord",
    "Invitation",
    "Job",
    "LiveEvent",
    "Offer",
    "PsychologistProfile",
    "Referral",
    "Listen",
    "Notification",
    "Preference",
    "PushSubscription",
    "Message",
    "RefreshToken",
    "School",
    "SchoolClass",
    "StaffMembership",
    "Upload",
    "Thread",
    "Transcript",
    "User",
    "WebhookEndpoint",
    "metadata",
]
