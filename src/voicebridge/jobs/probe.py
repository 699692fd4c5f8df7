"""A worker's own small HTTP endpoint: ``/healthz`` for probes, ``/metrics`` for Prometheus.

A worker has no API to hang these on, and must not need one: it runs in its own
container or pod. ``/healthz`` fails when the loop has not come round for
longer than twice the job lease, which only a stuck worker does (a job longer
than its lease is taken over by another worker anyway).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voicebridge.jobs.worker import Worker
from voicebridge.metrics import events_registry

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # probes every few seconds would drown the JSON logs


def make_app(worker: Worker, stale_after: float) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            age = time.monotonic() - worker.heartbeat
            if age <= stale_after:
                start_response("200 OK", [("Content-Type", "application/json")])
                return [b'{"status":"ok"}']
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"status":"stuck","seconds_since_loop":%d}' % int(age)]
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(events_registry())]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


def serve(worker: Worker, host: str, port: int, stale_after: float) -> WSGIServer:
    """Starts the endpoint on a daemon thread; ``shutdown()`` the result to stop it."""
    server = make_server(
        host, port, make_app(worker, stale_after), server_class=_Server, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="voicebridge-probe", daemon=True).start()
    return server
