"""Job kinds and their handlers. Each domain registers its own in ``<domain>/jobs.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from voicebridge.config import Settings


@dataclass
class JobContext:
    """What a handler gets besides its payload. Handlers open their own sessions."""

    engine: Engine
    settings: Settings
    store: Any  # voicebridge.storage.base.ObjectStore; Any keeps this module import-light
    worker_id: str = "worker"
    extras: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[JobContext, dict[str, Any]], None]

HANDLERS: dict[str, Handler] = {}
# kind -> interval: jobs that re-enqueue themselves after each run.
PERIODIC: dict[str, timedelta] = {}
# Kinds a worker may run several of at once, beside its main loop (transcodes): their
# handlers spend their time in child processes, so the loop's other jobs need not wait.
PARALLEL: set[str] = set()


def job_handler(
    kind: str, *, every: timedelta | None = None, parallel: bool = False
) -> Callable[[Handler], Handler]:
    """Registers ``fn`` for ``kind``. Handlers must be safe to run twice (idempotent).

    ``parallel`` handlers must also be safe to run beside one another and beside
    any other job, in threads of one process.
    """

    def register(fn: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise RuntimeError(f"job kind {kind!r} registered twice")
        HANDLERS[kind] = fn
        if every is not None:
            PERIODIC[kind] = every
        if parallel:
            PARALLEL.add(kind)
        return fn

    return register


class PermanentJobError(Exception):
    """Retrying cannot help (bad input, missing row): the job goes to the dead letters at once."""


class Reschedule(Exception):  # noqa: N818 - a signal to the worker, not an error
    """The job is not due yet: run it again at ``run_at``; the run does not count as an attempt."""

    def __init__(self, run_at: datetime) -> None:
        super().__init__(f"rescheduled to {run_at.isoformat()}")
        self.run_at = run_at
