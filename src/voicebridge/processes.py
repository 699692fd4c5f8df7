"""Which process holds a claim, and whether that process is still alive.

Claims kept in the database (an idempotency key being answered, the one request
writing an upload) name their holder as ``host:pid:start``. A claim whose holder
ran on this host and is gone (SIGKILLed, out of memory, the machine rebooted)
can be taken over at once instead of waiting out its lease: a restarted API
must let the phone resume its upload straight away. A holder on another host
cannot be checked from here, so there the lease still decides.

The start time (clock ticks since boot, from ``/proc``) tells a reused pid from
the process that held the claim. Where ``/proc`` is missing the start is ``?``
and nothing is ever judged gone.
"""

from __future__ import annotations

import hashlib
import os
import socket
from functools import lru_cache
from pathlib import Path

# Long enough for any real hostname's distinguishing part, short enough for the
# 64-character claim columns; a longer name keeps a hash of the whole so that two
# pods of one replica set (which share a long prefix) never look like one host.
HOST_CHARS = 24


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which a reused pid lacks."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; fields resume after the last ")".
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


@lru_cache(maxsize=1)
def host() -> str:
    name = socket.gethostname().replace(":", "-")
    if len(name) <= HOST_CHARS:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: HOST_CHARS - 9]}-{digest}"


def this_process() -> str:
    """This process as ``host:pid:start``, as recorded on the claims it holds."""
    pid = os.getpid()
    return f"{host()}:{pid}:{_start_ticks(pid) or '?'}"


def gone(holder: str | None) -> bool:
    """True when ``holder`` (``host:pid:start``) ran on this host and no longer exists.

    A holder on another host, or one whose start is unknown, is never judged gone.
    """
    if not holder:
        return True
    try:
        where, pid_text, ticks = holder.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return True
    if where != host() or ticks == "?":
        return False
    if pid == os.getpid():
        # Our own process: the claim is live unless it predates our start.
        return ticks != _start_ticks(pid)
    return _start_ticks(pid) != ticks
