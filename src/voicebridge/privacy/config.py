"""Privacy settings: how long things are kept, the grace periods people are told about."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PrivacySettings(BaseModel):
    """Retention, withdrawal and erasure (PIPL; CAC provisions on children's personal data)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    notice_version: str = "2026-09"
    """The consent notice guardians are asked to accept now (see `privacy/notices.py`); a
    guardian whose consent names an older version is asked again."""
    contact: str = "privacy@voicebridge.example.org"
    """Where guardians send data requests; printed in the consent notice."""
    school_retention_days: int = 365
    """Retention of school-thread messages and story progress of a child none of whose
    guardians consented yet; otherwise the shortest retention any guardian chose applies."""
    safeguarding_retention_days: int = 3650
    """Closed help cases (request, case messages, recordings, risk assessments, referrals)
    are kept this long after closing, longer than messages on purpose: a later disclosure
    must be read with the earlier ones, and an emergency referral or a complaint about a
    volunteer must be reviewable for years. Purpose-bound, never shown to guardians."""
    withdrawal_grace_days: int = 14
    """After consent is withdrawn or a link revoked, that guardian's thread with the child
    is deleted this many days later (the guardian is told the date); renewing consent or
    restoring the link before then cancels it."""
    closure_grace_days: int = 30
    """After staff close the record of a child who left the school, the child's messages
    and progress are deleted this many days later."""
    export_link_hours: int = 72
    """A guardian's export can be downloaded for this long, then it is deleted."""
    retention_batch: int = 200
    """Rows deleted per transaction by the retention job (objects first, then rows)."""
    retention_run_seconds: int = 120
    """A retention run stops after this long and continues from its cursor in a new job."""
