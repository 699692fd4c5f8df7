"""The contact filter measured on its labelled set (``tests/help/data/contact_filter.jsonl``).

Run from the repository root: ``python bench/contact_filter.py [--misses] [--note PREFIX]``.
``--note PREFIX`` scores only the rows whose note starts with PREFIX (``heldout-1``:
the first held-out round, written before the code it measures was changed).

Prints one JSON line: recall on messages that carry off-platform contact
(overall and per kind) and the false-hold rate on ordinary messages, many of
which contain numbers (times, dates, amounts, scores, class numbers,
hotlines). ``--misses`` first prints each miss and false hold (to stderr).
Aims (issue 9): recall >= 0.95, false holds <= 5%.
"""

from __future__ import annotations

import json
import sys
import time

import _path  # noqa: F401  (puts the repository root on sys.path)
from tests.help.evaluation import CONTACT_AIMS, CONTACT_SET, contact_aims_met, read, score_contacts


def _option(name: str) -> str | None:
    """The value after ``name`` on the command line, if given."""
    args = sys.argv[1:]
    return args[args.index(name) + 1] if name in args[:-1] else None


def main() -> None:
    rows = read(CONTACT_SET)
    note = _option("--note")
    if note is not None:
        rows = [r for r in rows if r.get("note", "").startswith(note)]
    start = time.perf_counter()
    score = score_contacts(rows)
    elapsed = time.perf_counter() - start
    misses = score.pop("misses")
    false_holds = score.pop("false_holds")
    if "--misses" in sys.argv:
        for row in misses:
            print("MISS", json.dumps(row, ensure_ascii=False), file=sys.stderr)
        for row in false_holds:
            print("HELD", json.dumps(row, ensure_ascii=False), file=sys.stderr)
    score["seconds"] = round(elapsed, 2)
    score["aims"] = CONTACT_AIMS
    score["aims_met"] = contact_aims_met(score)
    print(json.dumps(score, ensure_ascii=False))


if __name__ == "__main__":
    main()
