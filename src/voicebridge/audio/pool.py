"""Transcodes in child processes, a bounded number at once.

A transcode is CPU work in C libraries (the decoder, the filter graph,
libopus) driven by Python that holds the GIL, so threads cannot put a second
core to work; processes can. Each recording gets a fresh child, forked from a
``forkserver`` that has already imported PyAV and numpy, so a start costs
milliseconds rather than an interpreter's import time, and whatever a child
allocates is returned to the system when it exits: the memory of one
transcode never accumulates in the worker.

A child that dies (the kernel's OOM killer, a crash inside a codec, an
operator's ``kill -9``) takes only its own recording with it: the caller gets
``TranscodeCrashed``, an ordinary exception, so the job is retried with
backoff like any other failure. The worker, its database connections and the
other children carry on.

We chose a child per recording over ``concurrent.futures.ProcessPoolExecutor``:
there, one dead child breaks the whole pool and fails every transcode in
flight, not only its own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from voicebridge import metrics
from voicebridge.audio.errors import InvalidAudio
from voicebridge.audio.transcode import AudioResult, transcode

# Imported by the forkserver once, so each child starts with them loaded.
PRELOAD = ["voicebridge.audio.transcode"]


class TranscodeCrashed(RuntimeError):
    """The child process died before it answered; the job is retried."""


@dataclass(frozen=True)
class ChildReport:
    result: AudioResult
    peak_rss_kb: int
    """The child's own peak resident memory (``ru_maxrss``), imports included."""
    cpu_seconds: float
    """The child's CPU time, user and system."""


class TranscodePool:
    """At most ``size`` transcode processes at once; callers beyond that wait their turn."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a transcode pool needs at least one process")
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._running: set[int] = set()
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(PRELOAD)

    def running(self) -> list[int]:
        """Process ids of the transcodes in progress."""
        with self._lock:
            return sorted(self._running)

    def run(self, src: Path, dst: Path, **options: Any) -> ChildReport:
        """``transcode(src, dst, **options)`` in a child; raises what it raised."""
        with self._slots:
            return self._run(src, dst, options)

    def _run(self, src: Path, dst: Path, options: dict[str, Any]) -> ChildReport:
        # Duplex, so the child also notices when this end closes: a worker that is
        # killed does not leave its transcodes burning CPU for nobody.
        ours, theirs = self._mp.Pipe(duplex=True)
        child = self._mp.Process(
            target=_child, args=(theirs, src, dst, options), name="voicebridge-transcode"
        )
        child.start()
        theirs.close()
        pid = child.pid or 0
        with self._lock:
            self._running.add(pid)
            metrics.TRANSCODE_PROCESSES.set(len(self._running))
        try:
            try:
                answer: tuple[str, Any] | None = ours.recv()
            except EOFError:
                answer = None
            child.join()
        finally:
            ours.close()
            if child.is_alive():  # we were interrupted: take the child down with us
                child.kill()
                child.join()
            with self._lock:
                self._running.discard(pid)
                metrics.TRANSCODE_PROCESSES.set(len(self._running))
        if answer is None:
            # Whatever it wrote is in its ``.part`` file, which the caller's
            # temporary directory removes; nothing reached the store.
            dst.with_name(f".{dst.name}.part").unlink(missing_ok=True)
            metrics.TRANSCODE_CRASHES.inc()
            raise TranscodeCrashed(
                f"transcode process {pid} died (exit code {child.exitcode}) before it finished"
            )
        status, value = answer
        if status == "ok":
            report: ChildReport = value
            return report
        if status == "invalid":
            error: InvalidAudio = value
            raise error
        raise RuntimeError(f"transcode process {pid} failed: {value}")


def _child(conn: Connection, src: Path, dst: Path, options: dict[str, Any]) -> None:
    import resource

    threading.Thread(target=_exit_with_parent, args=(conn,), daemon=True).start()
    try:
        result = transcode(src, dst, **options)
    except InvalidAudio as exc:
        answer: tuple[str, Any] = ("invalid", exc)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which retries
        answer = ("error", f"{type(exc).__name__}: {exc}")
    else:
        own = resource.getrusage(resource.RUSAGE_SELF)
        answer = ("ok", ChildReport(result, own.ru_maxrss, own.ru_utime + own.ru_stime))
    conn.send(answer)


def _exit_with_parent(conn: Connection) -> None:
    """The parent never writes to the child, so a readable end means it is gone."""
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    os._exit(1)


_POOLS: dict[int, TranscodePool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(size: int) -> TranscodePool:
    """The process's pool of ``size`` children; every worker thread shares it."""
    with _POOLS_LOCK:
        pool = _POOLS.get(size)
        if pool is None:
            pool = _POOLS[size] = TranscodePool(size)
        return pool
