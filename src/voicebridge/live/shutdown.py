"""Ending open streams when the server is asked to stop.

uvicorn waits for open requests before it stops, and a stream never finishes
on its own, so a restart would hang until its graceful-shutdown timeout. The
server's SIGTERM/SIGINT handler is wrapped once the app has started (uvicorn
installs its own before it loads the app): the streams end first, with
``stream.end``, and their clients reconnect with ``Last-Event-ID``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from voicebridge.live.broker import BROKER

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def relay_exit_signals() -> Callable[[], None]:
    """Wraps the current handlers; returns what puts them back. No-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}
    for sig in SIGNALS:
        handler = signal.getsignal(sig)
        if not callable(handler):
            continue
        previous[sig] = handler

        def relay(
            signum: int, frame: FrameType | None, handler: Callable[..., Any] = handler
        ) -> None:
            BROKER.close_all()
            handler(signum, frame)

        signal.signal(sig, relay)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
