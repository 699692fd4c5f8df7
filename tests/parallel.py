"""Runs the suite as two pytest processes side by side, to halve its wall time.

``python -m tests.parallel [pytest options]``. The tests that start servers,
browsers and subprocesses (mostly waiting on them) run in one process, everything
else in the other; each keeps pytest's own order within it, so no test meets a
neighbour it would not meet in a plain ``pytest`` run (pytest-xdist's scheduling
does: a Playwright event loop left in a worker broke later ``asyncio.run`` calls).
Both share the PostgreSQL server; every test database has a name of its own.
Output is kept per process and printed when it ends; the exit status is the
first failure's, or 0.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Servers, browsers, SIGKILLs and restarts: long, and mostly waiting.
WAITING = ["deploy", "live", "ops", "readme", "uploads", "web"]
NO_TESTS = 5


def groups() -> list[list[str]]:
    """The two groups, as paths; every test file is in exactly one."""
    waiting = [str(TESTS / name) for name in WAITING]
    rest = sorted(
        str(path)
        for path in TESTS.iterdir()
        if path.name not in WAITING
        and (
            (path.is_dir() and any(path.glob("test_*.py")))
            or (path.is_file() and path.name.startswith("test_") and path.suffix == ".py")
        )
    )
    return [waiting, rest]


def main(args: list[str]) -> int:
    started = time.monotonic()
    running: list[tuple[subprocess.Popen[bytes], Path]] = []
    for paths in groups():
        log = Path(tempfile.mkstemp(prefix="voicebridge-tests-", suffix=".log")[1])
        with log.open("wb") as out:
            command = [sys.executable, "-m", "pytest", *args, *paths]
            running.append((subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT), log))
    codes = []
    for proc, log in running:
        codes.append(proc.wait())
        sys.stdout.write(log.read_text(errors="replace"))
        sys.stdout.flush()
        log.unlink()
    # 5 is pytest's "no tests collected": fine for one group when a -k or a path
    # selects tests of the other only, not for both.
    failed = [code for code in codes if code not in (0, NO_TESTS)]
    status = failed[0] if failed else (NO_TESTS if set(codes) == {NO_TESTS} else 0)
    minutes = (time.monotonic() - started) / 60
    summary = f"{len(running)} processes, {minutes:.1f} min, exit {status}"
    sys.stdout.write(f"tests.parallel: {summary}\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
