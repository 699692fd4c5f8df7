"""Risk triage measured on its labelled set (``tests/help/data/triage.jsonl``).

Run from the repository root: ``python bench/triage.py [--misses] [--note PREFIX]``.
``--note PREFIX`` scores only the rows whose note starts with PREFIX (``heldout-1``:
the first held-out round, written before the code it measures was changed).

Prints one JSON line: recall per urgency (a critical text counts only when
triaged critical; a high one when triaged high or critical) and per category,
how many critical texts came out below high, the false-critical and any-flag
rates on the benign controls, and the aims. ``--misses`` first prints each
missed text and each false alarm (to stderr), for whoever adds phrases.
Aims (issue 9): recall on critical >= 0.95, no critical below high, false
critical on benign controls <= 3%.
"""

from __future__ import annotations

import json
import sys
import time

import _path  # noqa: F401  (puts the repository root on sys.path)
from tests.help.evaluation import TRIAGE_AIMS, TRIAGE_SET, read, score_triage, triage_aims_met


def _option(name: str) -> str | None:
    """The value after ``name`` on the command line, if given."""
    args = sys.argv[1:]
    return args[args.index(name) + 1] if name in args[:-1] else None


def main() -> None:
    rows = read(TRIAGE_SET)
    note = _option("--note")
    if note is not None:
        rows = [r for r in rows if r.get("note", "").startswith(note)]
    start = time.perf_counter()
    score = score_triage(rows)
    elapsed = time.perf_counter() - start
    misses = score.pop("misses")
    false_alarms = score.pop("false_alarms")
    if "--misses" in sys.argv:
        for row in misses:
            print("MISS ", json.dumps(row, ensure_ascii=False, default=str), file=sys.stderr)
        for row in false_alarms:
            print("ALARM", json.dumps(row, ensure_ascii=False, default=str), file=sys.stderr)
    score["seconds"] = round(elapsed, 2)
    score["aims"] = TRIAGE_AIMS
    score["aims_met"] = triage_aims_met(score)
    print(json.dumps(score, ensure_ascii=False))


if __name__ == "__main__":
    main()
