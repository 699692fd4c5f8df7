"""Builds the configured object store; the only place that knows both backends."""

from __future__ import annotations

from voicebridge.config import StorageSettings
from voicebridge.storage.base import ObjectStore


def make_store(settings: StorageSettings) -> ObjectStore:
    """Imports boto3 only when S3 is configured, so the embedded default starts fast."""
    if settings.backend == "local":
        from voicebridge.storage.local import LocalObjectStore

        return LocalObjectStore(settings.local_path, create=settings.create_bucket)
    from voicebridge.storage.s3 import S3ObjectStore

    return S3ObjectStore(
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        bucket=settings.bucket,
        access_key_id=settings.access_key_id,
        secret_access_key=settings.secret_access_key,
        path_style=settings.path_style,
        create_bucket=settings.create_bucket,
        versioning=settings.versioning,
        public_endpoint_url=settings.public_endpoint_url,
        max_pool_connections=settings.max_pool_connections,
    )
