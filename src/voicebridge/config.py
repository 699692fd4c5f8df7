"""Settings, read from ``VOICEBRIDGE_*`` environment variables and a ``.env`` file.

Nested groups use a double underscore: ``VOICEBRIDGE_STORAGE__BUCKET=voices``.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicebridge.help.config import HelpSettings

DEV_SECRET = "dev-secret-change-me-dev-secret-change-me"
DATA_DIR_NAME = "voicebridge-data"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class StorageSettings(BaseModel):
    backend: Literal["local", "s3"] = "local"
    local_path: Path = Path("voicebridge-data/objects")
    endpoint_url: str | None = None
    region: str = "us-east-1"
    bucket: str = "voicebridge"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    path_style: bool = True
    presign_seconds: int = 300
    create_bucket: bool = True


class AuthSettings(BaseModel):
    secret_key: str = DEV_SECRET
    algorithm: Literal["HS256"] = "HS256"
    issuer: str = "voicebridge"
    audience: str = "voicebridge-api"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    child_session_minutes: int = 30
    # Argon2id cost; tests lower it, production keeps the library's defaults.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    login_max_failures: int = 5
    login_window_minutes: int = 15
    pin_max_failures: int = 5
    # Wrong PINs from one device in the login window, across all its children.
    pin_device_max_failures: int = 30
    invite_days: int = 7
    invite_max_failures: int = 10
    device_token_days: int = 365


class UploadSettings(BaseModel):
    max_bytes: int = 512 * 1024 * 1024
    max_duration_seconds: int = 2 * 60 * 60
    part_bytes: int = 8 * 1024 * 1024
    expire_hours: int = 24
    spool_path: Path | None = None
    single_request_max_bytes: int = 20 * 1024 * 1024


class AudioSettings(BaseModel):
    bitrate: int = 24_000
    peaks: int = 400
    target_lufs: float = -16.0


class JobSettings(BaseModel):
    in_process_worker: bool = True
    poll_seconds: float = 0.5
    lease_seconds: int = 300
    max_attempts: int = 8


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOICEBRIDGE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Environment = Environment.development
    # The embedded default keeps everything in one folder: the SQLite file and
    # the local object store live in data_dir unless configured elsewhere.
    data_dir: Path = Path(DATA_DIR_NAME)
    database_url: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    public_base_url: str = "http://127.0.0.1:8000"
    storage: StorageSettings = Field(default_factory=StorageSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    help: HelpSettings = Field(default_factory=HelpSettings)

    @model_validator(mode="after")
    def _inside_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'voicebridge.db'}"
        if "local_path" not in self.storage.model_fields_set:
            self.storage.local_path = self.data_dir / "objects"
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment is not Environment.development and (
            self.auth.secret_key == DEV_SECRET or len(self.auth.secret_key) < 32
        ):
            raise ValueError(
                "VOICEBRIDGE_AUTH__SECRET_KEY must be set to a random value of at least "
                "32 characters outside development"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
