"""Object storage: one protocol, an S3 backend and a local-directory backend.

Only the protocol, its errors and key helpers are exported here, so importing
the package does not import boto3; use ``factory.make_store`` to get a store.
"""

from voicebridge.storage.base import (
    BadDigest,
    InvalidRange,
    MultipartUpload,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    PartInfo,
    StoreError,
    StoreUnavailable,
    UploadNotFound,
    new_key,
    validate_key,
)

__all__ = [
    "BadDigest",
    "InvalidRange",
    "MultipartUpload",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "PartInfo",
    "StoreError",
    "StoreUnavailable",
    "UploadNotFound",
    "new_key",
    "validate_key",
]
