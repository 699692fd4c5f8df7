"""Entry points for subprocesses: ``python -m tests.uploads.procs api|worker``.

They add only what tests need (the ``test`` upload purpose, a ``test.append``
job kind) and then run the real server and the real ``voicebridge worker``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import tests.uploads.purpose  # noqa: F401  (registers the purpose)
from voicebridge.jobs.registry import JobContext, job_handler


@job_handler("test.append")
def append_line(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Appends the job's number to a file: two runs of one job would show as a duplicate."""
    time.sleep(0.02)
    with open(payload["path"], "a") as fh:
        fh.write(f"{payload['n']} {os.getpid()}\n")


def main() -> None:
    what, rest = sys.argv[1], sys.argv[2:]
    if what == "api":
        import uvicorn

        from voicebridge.app import create_app

        uvicorn.run(create_app(), host="127.0.0.1", port=int(rest[0]), log_level="warning")
    else:
        from voicebridge.cli import app

        app(["worker", *rest])


if __name__ == "__main__":
    main()
