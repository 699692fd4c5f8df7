"""The worker loop: claim a job, run its handler, record the outcome; repeat."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from voicebridge import clock, metrics
from voicebridge.jobs import service
from voicebridge.jobs.models import Job, JobState
from voicebridge.jobs.registry import (
    HANDLERS,
    PARALLEL,
    PERIODIC,
    Handler,
    JobContext,
    PermanentJobError,
    Reschedule,
)

log = logging.getLogger(__name__)


def load_handlers() -> None:
    """Imports every domain's ``jobs`` module so their handlers register."""
    import voicebridge.jobs.all  # noqa: F401


def request_kinds() -> list[str]:
    """What an API process's own worker runs in production: the jobs requests wait for,
    not the periodic maintenance, which belongs to `voicebridge worker` processes so
    that it never competes with the requests an API process serves."""
    load_handlers()
    return sorted(kind for kind in HANDLERS if kind not in PERIODIC)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def ensure_periodic(engine: Engine, kinds: Iterable[str] | None = None) -> None:
    """Seeds each periodic job once; several workers starting together agree on one row each."""
    for kind in PERIODIC:
        if kinds is not None and kind not in kinds:
            continue
        try:
            with Session(engine) as session:
                service.enqueue(session, kind, {}, dedupe_key=f"periodic:{kind}")
                session.commit()
        except Exception:  # noqa: BLE001 - a lost race here is harmless; the next run retries
            log.exception("could not seed periodic job", extra={"kind": kind})


class Worker:
    """Claims jobs one at a time in its loop; with ``run_forever``, ``PARALLEL`` kinds
    (transcodes) are handed to up to ``parallel`` threads of their own, so that several
    recordings are transcoded at once (each in a child process, see ``audio/pool.py``)
    and a long transcode does not hold up the notifications and timers behind it."""

    def __init__(
        self,
        ctx: JobContext,
        *,
        lease: timedelta,
        kinds: list[str] | None = None,
        parallel: int = 1,
    ) -> None:
        self.ctx = ctx
        self.lease = lease
        self.kinds = kinds
        self.parallel = parallel
        # When the loop last came round; a liveness probe compares it with the lease.
        self.heartbeat = time.monotonic()
        self._slots = threading.BoundedSemaphore(parallel)
        self._threads: set[threading.Thread] = set()
        self._threads_lock = threading.Lock()
        # Off in run_once/run_until_idle (tests, the demo): everything runs inline, in order.
        self._background = False

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    def run_once(self) -> bool:
        """Claims at most one job and runs it (or starts it in a slot); False when nothing
        was due."""
        kinds = self.kinds or sorted(HANDLERS)
        slot = self._background and self._slots.acquire(blocking=False)
        if self._background and not slot:
            # Every slot is busy: leave parallel jobs to another worker or a later turn.
            kinds = [kind for kind in kinds if kind not in PARALLEL]
        try:
            job = None
            if kinds:
                job = service.claim(self.engine, self.ctx.worker_id, self.lease, kinds)
        except BaseException:
            if slot:
                self._slots.release()
            raise
        if slot and (job is None or job.kind not in PARALLEL):
            self._slots.release()
            slot = False
        if job is None:
            return False
        if slot:
            thread = threading.Thread(
                target=self._run_in_slot, args=(job,), name=f"voicebridge-{job.kind}", daemon=True
            )
            with self._threads_lock:
                self._threads.add(thread)
            thread.start()
            return True
        self._run(job)
        return True

    def _run_in_slot(self, job: Job) -> None:
        try:
            self._run(job)
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            log.exception("worker slot error", extra={"job": str(job.id), "kind": job.kind})
        finally:
            with self._threads_lock:
                self._threads.discard(threading.current_thread())
            self._slots.release()

    def _renew_lease(self, job: Job, done: threading.Event) -> None:
        """Keeps the job's lease while its handler runs, renewing at a third of it."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while not done.wait(every):
            try:
                if not service.renew(self.engine, job, self.ctx.worker_id, self.lease):
                    return
            except Exception:  # noqa: BLE001 - the next turn tries again; the lease still holds
                log.warning("could not renew a job's lease", extra={"job": str(job.id)})

    def _run(self, job: Job) -> None:
        handler = HANDLERS[job.kind]
        started = time.perf_counter()
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew_lease, args=(job, done), name="voicebridge-lease", daemon=True
        )
        renewer.start()
        try:
            self._call(handler, job)
        finally:
            done.set()
            renewer.join()
        metrics.JOB_SECONDS.labels(job.kind).observe(time.perf_counter() - started)

    def _call(self, handler: Handler, job: Job) -> None:
        try:
            handler(self.ctx, dict(job.payload))
        except Reschedule as later:
            service.reschedule(self.engine, job, self.ctx.worker_id, later.run_at)
            return
        except PermanentJobError as exc:
            log.warning("job failed permanently", extra={"job": str(job.id), "kind": job.kind})
            state = service.fail(self.engine, job, self.ctx.worker_id, str(exc), permanent=True)
        except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
            log.exception("job failed", extra={"job": str(job.id), "kind": job.kind})
            detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            state = service.fail(self.engine, job, self.ctx.worker_id, detail)
        else:
            service.succeed(self.engine, job, self.ctx.worker_id)
            state = JobState.done
        outcome = {JobState.done: "done", JobState.dead: "dead"}.get(state, "retry")
        metrics.JOBS_FINISHED.labels(job.kind, outcome).inc()
        if job.kind in PERIODIC:
            # After success or a final failure the row is released, so the next
            # run is a new row; while a failed run waits for its retry, this
            # finds that row and adds nothing. A periodic job never stops.
            with Session(self.engine) as session:
                service.enqueue(
                    session,
                    job.kind,
                    {},
                    dedupe_key=f"periodic:{job.kind}",
                    run_at=clock.now() + PERIODIC[job.kind],
                )
                session.commit()

    def run_until_idle(self, max_jobs: int = 10_000) -> int:
        done = 0
        while done < max_jobs and self.run_once():
            done += 1
        return done

    def busy_slots(self) -> int:
        """Parallel jobs running now."""
        with self._threads_lock:
            return len(self._threads)

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        metrics.start_job_counters(self.kinds or HANDLERS)
        ensure_periodic(self.engine, self.kinds)
        self._background = True
        try:
            while not stop.is_set():
                self.heartbeat = time.monotonic()
                try:
                    busy = self.run_once()
                except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                    log.exception("worker loop error")
                    busy = False
                if not busy:
                    stop.wait(poll_seconds)
        finally:
            # The jobs in hand are finished first, as a stopping worker promises.
            with self._threads_lock:
                running = list(self._threads)
            for thread in running:
                thread.join()
            self._background = False
