"""Scores for the labelled sets in ``tests/help/data`` (used by ``bench/`` and the tests).

``triage.jsonl``: one JSON object a line, ``{"text", "urgency", "category", "note"}``;
urgency is ``critical``/``high`` for a text that needs it (at least), ``none`` for a
benign control (category ``none``). ``contact_filter.jsonl``: ``{"text", "contact",
"kind", "note"}``; ``contact`` is true when the text carries off-platform contact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voicebridge.help import triage
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import URGENCY_RANK, Urgency

DATA = Path(__file__).parent / "data"
TRIAGE_SET = DATA / "triage.jsonl"
CONTACT_SET = DATA / "contact_filter.jsonl"

# What the issue asks of triage and the contact filter.
TRIAGE_AIMS = {"recall_critical": 0.95, "critical_below_high": 0, "false_critical_rate": 0.03}
CONTACT_AIMS = {"recall": 0.95, "false_hold_rate": 0.05}


def read(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def score_triage(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per urgency and category, false alarms on the benign controls, and misses."""
    data = triage.load(HelpSettings())
    by_urgency: dict[str, list[int]] = {}
    by_category: dict[str, list[int]] = {}
    category_right = [0, 0]
    below_high = 0
    benign = [0, 0, 0]  # total, flagged at all, flagged critical
    misses: list[dict[str, Any]] = []
    false_alarms: list[dict[str, Any]] = []
    for row in rows:
        found = triage.assess(data, row["text"])
        got = found.urgency if found else None
        if row["urgency"] == "none":
            benign[0] += 1
            if found:
                benign[1] += 1
                benign[2] += got is Urgency.critical
                false_alarms.append({**row, "got": got, "phrase": found.phrase})
            continue
        want = Urgency(row["urgency"])
        ok = got is not None and URGENCY_RANK[got] >= URGENCY_RANK[want]
        for table, key in ((by_urgency, want.value), (by_category, row["category"])):
            table.setdefault(key, [0, 0])
            table[key][0] += 1
            table[key][1] += ok
        below = got is None or URGENCY_RANK[got] < URGENCY_RANK[Urgency.high]
        if want is Urgency.critical and below:
            below_high += 1
        if found:
            category_right[0] += 1
            category_right[1] += found.category == row["category"]
        if not ok:
            misses.append({**row, "got": got and got.value})
    return {
        "count": len(rows),
        "risk_texts": sum(v[0] for v in by_urgency.values()),
        "benign_controls": benign[0],
        "recall": {k: _ratio(v[1], v[0]) for k, v in sorted(by_urgency.items())},
        "recall_by_category": {k: _ratio(v[1], v[0]) for k, v in sorted(by_category.items())},
        "critical_below_high": below_high,
        "false_critical_rate": _ratio(benign[2], benign[0]),
        "false_flag_rate": _ratio(benign[1], benign[0]),
        "category_agreement": _ratio(category_right[1], category_right[0]),
        "misses": misses,
        "false_alarms": false_alarms,
    }


def triage_aims_met(score: dict[str, Any]) -> bool:
    return bool(
        (score["recall"].get("critical") or 0) >= TRIAGE_AIMS["recall_critical"]
        and score["critical_below_high"] <= TRIAGE_AIMS["critical_below_high"]
        and (score["false_critical_rate"] or 0) <= TRIAGE_AIMS["false_critical_rate"]
    )


def score_contacts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall on texts with contact details and false holds on ordinary ones."""
    pos = [0, 0]
    neg = [0, 0]
    by_kind: dict[str, list[int]] = {}
    misses: list[dict[str, Any]] = []
    false_holds: list[dict[str, Any]] = []
    for row in rows:
        found = triage.contact_details(row["text"])
        if row["contact"]:
            pos[0] += 1
            pos[1] += bool(found)
            kind = by_kind.setdefault(row["kind"], [0, 0])
            kind[0] += 1
            kind[1] += bool(found)
            if not found:
                misses.append(row)
        else:
            neg[0] += 1
            neg[1] += bool(found)
            if found:
                false_holds.append({**row, "got": found})
    return {
        "count": len(rows),
        "with_contact": pos[0],
        "without_contact": neg[0],
        "recall": _ratio(pos[1], pos[0]),
        "recall_by_kind": {k: _ratio(v[1], v[0]) for k, v in sorted(by_kind.items())},
        "false_hold_rate": _ratio(neg[1], neg[0]),
        "misses": misses,
        "false_holds": false_holds,
    }


def contact_aims_met(score: dict[str, Any]) -> bool:
    return bool(
        (score["recall"] or 0) >= CONTACT_AIMS["recall"]
        and (score["false_hold_rate"] or 0) <= CONTACT_AIMS["false_hold_rate"]
    )
