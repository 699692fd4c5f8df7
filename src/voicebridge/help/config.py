"""Help settings: timings per urgency, ranking weights, and the data file they override.

Times are seconds. An urgency missing from ``t1_seconds``/``t2_seconds`` is never
escalated by that timer: every urgency has its own T1 (a normal request waiting
half an hour, a low one four hours, reaches the supervisors); only critical and
high go on to the school (T2).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class CrisisResource(BaseModel):
    name: str
    phone: str


class RankingWeights(BaseModel):
    """Points a psychologist earns towards being offered a request."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    language_exact: float = 100.0
    """Speaks the child's language or dialect."""
    language_fallback: float = 40.0
    """Speaks an acceptable fallback language."""
    continuity: float = 50.0
    """Helped this child before."""
    free_capacity: float = 20.0
    """Scaled by the share of free case slots."""
    specialty: float = 15.0
    """Specialises in the request's category."""


def _offer_seconds() -> dict[str, int]:
    return {"critical": 120, "high": 120, "normal": 600, "low": 1800}


def _t1() -> dict[str, int]:
    return {"critical": 60, "high": 300, "normal": 1800, "low": 14400}


def _t2() -> dict[str, int]:
    return {"critical": 300, "high": 1800}


class HelpSettings(BaseModel):
    """Help requests: offers, escalation timers and triage data."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    offer_seconds: dict[str, int] = Field(default_factory=_offer_seconds)
    """How long a psychologist has to accept an offer, per urgency (JSON object)."""
    t1_seconds: dict[str, int] = Field(default_factory=_t1)
    """Unaccepted this long, a request is escalated to supervisors (T1), per urgency."""
    t2_seconds: dict[str, int] = Field(default_factory=_t2)
    """Unaccepted this long, the school's safeguarding contact is alerted (T2), per urgency."""
    retry_seconds: int = 60
    """How often a request nobody could be offered is tried again."""
    weights: RankingWeights = Field(default_factory=RankingWeights)
    data_file: Path | None = None
    """A JSON file shaped like help/data/help.json; its keys replace the shipped ones."""
    crisis_resources: list[CrisisResource] | None = None
    """Crisis lines shown when nobody is on duty (JSON list of {name, phone})."""
    risk_words_critical: list[str] | None = None
    """Words that make a request critical (JSON list); replaces the shipped list."""
    risk_words_high: list[str] | None = None
    """Words that make a request high urgency (JSON list); replaces the shipped list."""
