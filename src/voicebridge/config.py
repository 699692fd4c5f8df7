"""Settings, read from ``VOICEBRIDGE_*`` environment variables and a ``.env`` file.

Nested groups use a double underscore: ``VOICEBRIDGE_STORAGE__BUCKET=voices``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicebridge.help.config import HelpSettings
from voicebridge.live.config import LiveSettings
from voicebridge.notifications.config import NotificationSettings
from voicebridge.privacy.config import PrivacySettings
from voicebridge.transcripts.config import TranscriptSettings

DATA_DIR_NAME = "voicebridge-data"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class _Group(BaseModel):
    # Each setting's docstring is its description: `voicebridge settings` prints them.
    model_config = ConfigDict(use_attribute_docstrings=True)


class StorageSettings(_Group):
    """Where recordings are kept."""

    backend: Literal["local", "s3"] = "local"
    """`local`: a directory (one machine). `s3`: any S3 API (SeaweedFS, MinIO, AWS, OSS, COS)."""
    local_path: Path = Path("voicebridge-data/objects")
    """Directory of the local store."""
    endpoint_url: str | None = None
    """S3 endpoint, e.g. `http://seaweedfs:8333`; empty for AWS itself."""
    public_endpoint_url: str | None = None
    """The S3 address listeners' devices use, when it differs from `endpoint_url` (e.g.
    `https://s3.voice.example.org` through the proxy); playback URLs are signed for it."""
    region: str = "us-east-1"
    """S3 region name (SeaweedFS and MinIO accept any)."""
    bucket: str = "voicebridge"
    """Bucket holding originals (`original/`) and playable Opus (`audio/`)."""
    access_key_id: str | None = None
    """S3 access key id."""
    secret_access_key: str | None = None
    """S3 secret key."""
    path_style: bool = True
    """Path-style addressing (`endpoint/bucket/key`); SeaweedFS and MinIO need it."""
    presign_seconds: int = 300
    """Lifetime of a presigned playback URL."""
    create_bucket: bool = True
    """Create the bucket on start if missing. Turn off where the service's key may not."""
    versioning: bool = False
    """With `create_bucket`, also turn on bucket versioning, so a deleted object can be
    restored; expire old versions with a lifecycle rule on the store."""
    max_pool_connections: int = Field(default=48, ge=1)
    """Open connections to S3 per process; keep it above `uploads.part_senders`."""


class AuthSettings(_Group):
    """Sign-in, tokens and throttles."""

    secret_key: str | None = None
    """Token signing key, at least 32 random characters. Empty outside production: a random
    key is generated into `<data_dir>/signing-keys.json` (mode 0600) on first start and
    rotated with `voicebridge keys rotate`. Production requires it to be set."""
    previous_secret_keys: list[str] = []
    """Keys that signed earlier tokens, accepted (never used to sign) until those tokens
    expire: to rotate a configured key, move it here and set a new `secret_key`."""
    algorithm: Literal["HS256"] = "HS256"
    """JWT signing algorithm (pinned)."""
    issuer: str = "voicebridge"
    """JWT `iss` claim."""
    audience: str = "voicebridge-api"
    """JWT `aud` claim."""
    access_token_minutes: int = 15
    """Lifetime of an access token."""
    refresh_token_days: int = 30
    """Lifetime of a refresh token (rotated on every use)."""
    child_session_minutes: int = 30
    """How long a child stays signed in on a school device."""
    argon2_time_cost: int = 3
    """Argon2id passes; tests lower it, production keeps the library's default."""
    argon2_memory_kib: int = 65536
    """Argon2id memory per hash, KiB (64 MiB: size API memory limits for a few at once)."""
    login_window_minutes: int = 60
    """Window in which failed sign-ins, PINs and codes are counted."""
    login_free_failures: int = 3
    """Wrong passwords for one login from one client before each next try must wait
    (1 s, 2 s, 4 s... up to `login_max_delay_seconds`)."""
    login_max_delay_seconds: int = 900
    """Longest wait imposed on one client guessing one login."""
    client_free_failures: int = 10
    """Wrong passwords from one client address, across logins, before its tries slow down."""
    client_max_delay_seconds: int = 3600
    """Longest wait imposed on one client address."""
    login_global_free_failures: int = 20
    """Wrong passwords for one login from all clients together before every try on it waits
    a little (a spread-out attack); capped by `login_global_max_delay_seconds` so that a
    stranger can slow an owner but never lock them out."""
    login_global_max_delay_seconds: int = 30
    """Longest wait on a login attacked from many addresses."""
    pin_max_failures: int = 5
    """Wrong PINs for one child from one device before the child's teachers are alerted;
    the PIN locks only when wrong PINs came from `pin_lock_sources` devices, or this many
    more after the alert."""
    pin_lock_sources: int = 2
    """Distinct devices whose wrong PINs for one child lock that PIN."""
    pin_device_free_failures: int = 10
    """Wrong PINs from one device, across its children, before that device's tries slow
    down (growing delay up to `pin_device_max_delay_seconds`)."""
    pin_device_max_delay_seconds: int = 900
    """Longest wait imposed on one device guessing PINs."""
    invite_days: int = 7
    """Lifetime of a guardian invitation code."""
    invite_max_failures: int = 10
    """Wrong invitation codes per guardian per hour."""
    otp_minutes: int = 10
    """Lifetime of a one-time SMS code proving a phone number."""
    otp_max_attempts: int = 5
    """Wrong tries of one SMS code before it is void."""
    otp_per_phone_hour: int = 3
    """SMS codes sent to one phone number per hour."""
    otp_per_client_hour: int = 20
    """SMS codes requested from one client address per hour."""
    device_token_days: int = 365
    """Lifetime of a school device credential."""

    _keyring: Any = PrivateAttr(default=None)

    @property
    def keyring(self) -> Any:
        """The signing keys in use (voicebridge.auth.keys), once loaded."""
        return self._keyring

    def attach_keyring(self, ring: Any) -> None:
        self._keyring = ring


class IdempotencySettings(_Group):
    """`Idempotency-Key` on creating requests."""

    lease_seconds: int = 120
    """An unfinished claim older than this is taken over by a retry with the same key
    (longer than the slowest creating request); a claim whose process is gone (same host)
    is taken over at once."""


class LimitSettings(_Group):
    """Rate limits shared by every API process (counted in the database)."""

    registrations_per_client_hour: int = 20
    """Guardian registrations from one client address per hour."""
    uploads_per_user_day: int = 300
    """Uploads one account may start per day."""
    help_requests_per_child_hour: int = 6
    """Help requests per child per hour; a request the child marks urgent, or that the
    triage finds critical, is never refused."""


class OpsSettings(_Group):
    """Operations endpoints."""

    metrics_token: str | None = None
    """Bearer token `/metrics` on the API port requires. Empty: `/metrics` answers only
    loopback callers (a Prometheus on the same machine or pod, or via the proxy's
    internal listener)."""


class UploadSettings(_Group):
    """Resumable (tus) uploads."""

    max_bytes: int = 512 * 1024 * 1024
    """Largest upload accepted; keep the proxy's body limit above it."""
    max_duration_seconds: int = 2 * 60 * 60
    """Longest recording accepted."""
    part_bytes: int = 8 * 1024 * 1024
    """S3 multipart part size (at least 5 MiB)."""
    parts_in_flight: int = Field(default=4, ge=2, le=64)
    """Parts of one upload sent to the store at once while the next ones arrive. Parts
    stream from their spool files, so memory stays small; the spool disk holds up to
    this many parts (plus the one filling) per upload being written."""
    part_senders: int = Field(default=32, ge=2)
    """Part uploads one API process runs at once over all its uploads (threads beside
    the request threadpool; keep `storage.max_pool_connections` at least this high)."""
    expire_hours: int = 24
    """An unfinished upload is discarded after this long."""
    spool_path: Path | None = None
    """Directory for the not-yet-flushed tail of uploads (default `<data_dir>/spool`).
    Share it between the API processes of one machine."""
    single_request_max_bytes: int = 20 * 1024 * 1024
    """Largest clip accepted by the one-request upload."""


class AudioSettings(_Group):
    """The playable copy of every recording."""

    bitrate: int = 24_000
    """Opus bitrate, bit/s (24 kbit/s: about 11 MB an hour)."""
    peaks: int = 400
    """Points in the waveform sent to players."""
    target_lufs: float = -16.0
    """Loudness the speech is normalised to (EBU R128)."""


class JobSettings(_Group):
    """Background jobs (transcodes, timers, sweeps)."""

    in_process_worker: bool = True
    """Run jobs inside the API process (the one-machine default). Production sets false
    and runs `voicebridge worker` processes; if left on in production, an API process
    runs only the jobs requests wait for, never the periodic maintenance."""
    poll_seconds: float = 0.5
    """How often an idle worker looks for due jobs."""
    lease_seconds: int = 300
    """A claimed job returns to the queue if its worker is silent this long."""
    max_attempts: int = 8
    """Tries before a job becomes a dead letter."""
    transcode_processes: int | None = Field(default=None, ge=1)
    """Recordings one worker process transcodes at once, each in a child process of its
    own (a crashed child fails only its own job, which is retried). Empty: one per core
    this process may use. Each child takes one core and about 100 MB; lower it where the
    worker shares its machine with API processes."""
    keep_done_days: int = 7
    """Finished jobs are deleted after this many days (dead letters are kept)."""
    metrics_port: int | None = None
    """Port of a worker's `/metrics` and `/healthz` (none when empty)."""
    metrics_host: str = "127.0.0.1"
    """Address a worker's metrics endpoint binds; `0.0.0.0` in a container."""

    @property
    def transcode_slots(self) -> int:
        """``transcode_processes``, or the cores this process may run on."""
        if self.transcode_processes is not None:
            return self.transcode_processes
        return max(1, len(os.sched_getaffinity(0)))


class DatabaseSettings(_Group):
    """Connections to the database, per process (PostgreSQL; SQLite opens one per use).

    Size the pools against PostgreSQL's `max_connections` (100 by default):
    (API processes + worker processes) x (`pool_size` + `max_overflow`) plus a few for
    migrations and psql must stay below it. Two API and two worker processes at the
    defaults use 4 x 10 = 40. More processes than that fits: raise `max_connections`,
    or put PgBouncer (transaction pooling) between the service and PostgreSQL.
    """

    pool_size: int = 5
    """Connections each process keeps open."""
    max_overflow: int = 5
    """Extra connections a process may open under load, closed again when idle."""
    pool_timeout_seconds: float = 2.0
    """How long a request waits for a free connection before it is answered 503 with
    `Retry-After` (the service is busy) rather than waiting on."""


class ServerSettings(_Group):
    """How an API process behaves under load."""

    max_in_flight: int = 64
    """Requests one API process works on at once; more are answered 503 with `Retry-After`
    straight away, so an overloaded service sheds load in milliseconds instead of queueing.
    Uploads, health checks and `/metrics` are not counted. 0 turns the limit off."""
    retry_after_seconds: int = 2
    """`Retry-After` sent with a 503 when the service sheds load."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOICEBRIDGE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    environment: Environment = Environment.development
    """`development`, `test` or `production`; outside development a real secret is required."""
    # The embedded default keeps everything in one folder: the SQLite file and
    # the local object store live in data_dir unless configured elsewhere.
    data_dir: Path = Path(DATA_DIR_NAME)
    """Working directory: upload spool, transcode scratch, the SQLite file and local objects
    by default. Commands find the nearest `voicebridge-data` folder when it is not set."""
    database_url: str = ""
    """SQLAlchemy URL: `postgresql+psycopg://user:pass@host:5432/db` in production; empty
    means the SQLite file `voicebridge.db` in the data directory."""
    log_level: str = "INFO"
    """Python log level."""
    log_json: bool = True
    """One JSON object a line (for a log collector); false for plain text."""
    public_base_url: str = "http://127.0.0.1:8000"
    """The address people use, e.g. `https://voice.example.org`."""
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    idempotency: IdempotencySettings = Field(default_factory=IdempotencySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    help: HelpSettings = Field(default_factory=HelpSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    transcripts: TranscriptSettings = Field(default_factory=TranscriptSettings)

    @model_validator(mode="after")
    def _inside_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'voicebridge.db'}"
        if "local_path" not in self.storage.model_fields_set:
            self.storage.local_path = self.data_dir / "objects"
        return self

    @model_validator(mode="after")
    def _require_secret(self) -> Settings:
        key = self.auth.secret_key
        if key is not None and len(key) < 32:
            raise ValueError("VOICEBRIDGE_AUTH__SECRET_KEY must be at least 32 characters")
        if self.environment is Environment.production and key is None:
            raise ValueError(
                "VOICEBRIDGE_AUTH__SECRET_KEY must be set to a random value of at least "
                "32 characters in production"
            )
        if any(len(old) < 32 for old in self.auth.previous_secret_keys):
            raise ValueError("every previous secret key has at least 32 characters")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
