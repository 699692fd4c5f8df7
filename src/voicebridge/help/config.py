"""Help settings: timings per urgency, ranking weights, and the data file they override.

Times are seconds. An urgency missing from ``t1_seconds``/``t2_seconds`` is never
escalated by timer (normal and low requests wait their turn in the queue).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class CrisisResource(BaseModel):
    name: str
    phone: str


class RankingWeights(BaseModel):
    language_exact: float = 100.0
    language_fallback: float = 40.0
    continuity: float = 50.0
    free_capacity: float = 20.0
    specialty: float = 15.0


def _offer_seconds() -> dict[str, int]:
    return {"critical": 120, "high": 120, "normal": 600, "low": 1800}


def _t1() -> dict[str, int]:
    return {"critical": 60, "high": 300}


def _t2() -> dict[str, int]:
    return {"critical": 300, "high": 1800}


class HelpSettings(BaseModel):
    offer_seconds: dict[str, int] = Field(default_factory=_offer_seconds)
    t1_seconds: dict[str, int] = Field(default_factory=_t1)
    t2_seconds: dict[str, int] = Field(default_factory=_t2)
    # How often a request nobody could be offered is tried again.
    retry_seconds: int = 60
    weights: RankingWeights = Field(default_factory=RankingWeights)
    # A JSON file shaped like help/data/help.json; its keys replace the shipped ones.
    data_file: Path | None = None
    crisis_resources: list[CrisisResource] | None = None
    risk_words_critical: list[str] | None = None
    risk_words_high: list[str] | None = None
