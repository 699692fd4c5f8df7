"""Urgency from the child's choices and the risk lexicon; contact details in volunteers' text.

The risk lexicon (``help/data/risk/``, see ``help/lexicon.py``), languages and
crisis resources are data so that counsellors can change them without a
release; settings may replace the critical or high phrases. Text is normalised
first (``help/textnorm.py``): Traditional characters, full-width letters,
pinyin, emoji and repeated letters do not hide a risk phrase.
Measured by ``bench/triage.py`` on ``tests/help/data/triage.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from voicebridge.help import contact, lexicon
from voicebridge.help.config import CrisisResource, HelpSettings
from voicebridge.help.lexicon import Finding, Lexicon
from voicebridge.help.models import URGENCY_RANK, Category, Urgency


@dataclass(frozen=True)
class HelpData:
    languages: dict[str, str | None]  # code -> the language it falls back to
    language_names: dict[str, str]
    lexicon: Lexicon
    category_urgency: dict[str, Urgency]
    crisis_resources: tuple[CrisisResource, ...]


@lru_cache(maxsize=8)
def _read(path: str | None) -> dict[str, Any]:
    shipped = resources.files("voicebridge.help").joinpath("data/help.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(shipped)
    if path is not None:
        data.update(json.loads(Path(path).read_text("utf-8")))
    return data


def load(settings: HelpSettings) -> HelpData:
    raw = _read(str(settings.data_file) if settings.data_file else None)
    return HelpData(
        languages={lang["code"]: lang.get("falls_back_to") for lang in raw["languages"]},
        language_names={lang["code"]: lang["name"] for lang in raw["languages"]},
        lexicon=_lexicon(
            tuple(settings.risk_words_critical) if settings.risk_words_critical else None,
            tuple(settings.risk_words_high) if settings.risk_words_high else None,
        ),
        category_urgency={k: Urgency(v) for k, v in raw["category_urgency"].items()},
        crisis_resources=tuple(
            settings.crisis_resources
            or [CrisisResource.model_validate(r) for r in raw["crisis_resources"]]
        ),
    )


@lru_cache(maxsize=8)
def _lexicon(critical: tuple[str, ...] | None, high: tuple[str, ...] | None) -> Lexicon:
    if critical is None and high is None:
        return lexicon.shipped()
    return Lexicon.build(
        lexicon.shipped_data(),
        critical=list(critical) if critical else None,
        high=list(high) if high else None,
    )


def assess(data: HelpData, text: str | None) -> Finding | None:
    """The most urgent risk phrase in ``text`` (urgency, category, phrase), or None."""
    if not text:
        return None
    return data.lexicon.find(text)


def scan_risk(data: HelpData, text: str | None) -> Urgency | None:
    """The urgency the words in ``text`` call for, or None when none matched."""
    found = assess(data, text)
    return found.urgency if found else None


def initial_urgency(
    data: HelpData, category: Category, not_safe: bool, text: str | None
) -> tuple[Urgency, bool]:
    """(urgency, flagged by risk words)."""
    if not_safe:
        return Urgency.critical, scan_risk(data, text) is not None
    base = data.category_urgency.get(category.value, Urgency.normal)
    risk = scan_risk(data, text)
    if risk is not None and URGENCY_RANK[risk] > URGENCY_RANK[base]:
        return risk, True
    return base, risk is not None


def raised(current: Urgency, found: Urgency | None) -> Urgency | None:
    """Automation only ever raises urgency; None when nothing changes."""
    if found is not None and URGENCY_RANK[found] > URGENCY_RANK[current]:
        return found
    return None


def contact_details(text: str | None) -> list[str]:
    """Kinds of off-platform contact found in ``text`` (phone, wechat, qq, link, email, social)."""
    return contact.contact_details(text)


def language_score(data: HelpData, child_language: str, speaks: list[str]) -> str | None:
    """'exact', 'fallback' or None: how well a psychologist's languages fit the child's."""
    if child_language in speaks:
        return "exact"
    fallback = data.languages.get(child_language)
    if fallback is not None and fallback in speaks:
        return "fallback"
    return None
