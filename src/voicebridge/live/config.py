"""Live-update settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LiveSettings(BaseModel):
    """Server-sent events (`GET /api/v1/events`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    heartbeat_seconds: float = 15.0
    """A comment line this often keeps proxies from closing an idle stream."""
    session_check_seconds: float = 5.0
    """How often an open stream re-checks its sign-in; a revoked one ends the stream."""
    retention_minutes: int = 1440
    """Events are kept this long for `Last-Event-ID` resumes; older ones are purged."""
    resume_lookback_seconds: float = 30.0
    """On resume, events written up to this long before the last one seen are sent again
    (ids may commit out of order on PostgreSQL; clients drop ids they already have)."""
    max_stream_seconds: float = 900.0
    """A stream ends after this long (and at its access token's expiry); the client
    reconnects with `Last-Event-ID` and a fresh token and misses nothing. Bounds how long
    one process holds a connection, so a rolling restart drains."""
    retry_ms: int = 2000
    """The `retry:` the stream advises browsers to wait before reconnecting."""
