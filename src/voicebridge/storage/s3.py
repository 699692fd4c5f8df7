"""The object store on any S3 API: SeaweedFS, MinIO, AWS S3, Alibaba OSS, Tencent COS.

Tested against SeaweedFS 4.x, which accepts ``x-amz-checksum-sha256`` and
``Content-MD5`` (and rejects a body that does not match either with
``BadDigest``) and honours ``If-None-Match: *`` on PutObject. We therefore send
both a SHA-256 checksum and the SHA-256 as user metadata on whole-object
writes, and Content-MD5 on parts: Content-MD5 is the one part checksum every
S3 vendor checks without the upload having been created with a checksum
algorithm.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from voicebridge.storage.base import (
    CHUNK_SIZE,
    SHA256_METADATA_KEY,
    BadDigest,
    InvalidRange,
    ListedObject,
    MultipartUpload,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    PartInfo,
    StoreError,
    StoreUnavailable,
    UploadNotFound,
    check_part_size,
    file_digests,
    file_md5,
    validate_key,
    validate_prefix,
    validate_range,
    write_chunks,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_UNAVAILABLE = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_EXISTS = {"PreconditionFailed", "412"}


class S3ObjectStore:
    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        bucket: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        path_style: bool = True,
        create_bucket: bool = False,
        max_pool_connections: int = 20,
        versioning: bool = False,
        public_endpoint_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.create_bucket = create_bucket
        self.versioning = versioning
        config = Config(
            signature_version="s3v4",
            s3={
                "addressing_style": "path" if path_style else "auto",
                # Every body we send carries its own checksum the store verifies
                # (Content-MD5 on parts, x-amz-checksum-sha256 on objects). Signing
                # the payload too, which botocore does on http endpoints, would read
                # and hash each part a second time before sending it.
                "payload_signing_enabled": False,
            },
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            # boto3 >= 1.36 adds CRC checksums by default, which several
            # S3-compatible stores reject; we send our own checksums instead.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        # Presigned URLs are signed for the host the listener's device will ask,
        # which differs from the service's own endpoint behind a proxy.
        self.presigner: S3Client = (
            boto3.client(
                "s3",
                endpoint_url=public_endpoint_url,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=config,
            )
            if public_endpoint_url
            else self.client
        )

    def ensure_ready(self) -> None:
        if self.create_bucket:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) not in _NOT_FOUND | {"NoSuchBucket"}:
                    raise _translate(exc, self.bucket) from exc
                self._create_bucket()
            except BotoCoreError as exc:
                raise StoreUnavailable(str(exc)) from exc
            if self.versioning:
                self._enable_versioning()
        self.check()

    def _enable_versioning(self) -> None:
        """A deleted object stays recoverable as an old version (see deploy/README.md)."""
        with _errors(self.bucket):
            self.client.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            )

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"bucket {self.bucket!r} is unreachable: {exc}") from exc

    def put_file(
        self, key: str, path: Path, content_type: str, sha256: str | None = None
    ) -> ObjectInfo:
        validate_key(key)
        size = path.stat().st_size
        if sha256 is None:
            sha256, _ = file_digests(path)
        with path.open("rb") as body:
            return self._put(key, body, size, content_type, sha256)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> ObjectInfo:
        validate_key(key)
        return self._put(key, data, len(data), content_type, hashlib.sha256(data).hexdigest())

    def create_multipart(
        self, key: str, content_type: str, metadata: dict[str, str] | None = None
    ) -> str:
        validate_key(key)
        with _errors(key):
            response = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type, Metadata=metadata or {}
            )
        return response["UploadId"]

    def upload_part(
        self, key: str, upload_id: str, number: int, path: Path, size: int, md5: str | None = None
    ) -> PartInfo:
        validate_key(key)
        check_part_size(path, size)
        if md5 is None:
            md5 = file_md5(path, size)
        with path.open("rb") as body, _errors(key):
            response = self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ContentLength=size,
                ContentMD5=base64.b64encode(bytes.fromhex(md5)).decode(),
            )
        return PartInfo(number=number, etag=response["ETag"].strip('"'), size=size)

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        validate_key(key)
        parts = []
        with _errors(key):
            paginator = self.client.get_paginator("list_parts")
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
                for part in page.get("Parts", []):
                    parts.append(
                        PartInfo(part["PartNumber"], part["ETag"].strip('"'), part["Size"])
                    )
        return parts

    def complete_multipart(
        self, key: str, upload_id: str, parts: list[PartInfo], sha256: str | None = None
    ) -> ObjectInfo:
        """S3 cannot attach metadata at completion, so the object's SHA-256 is the
        one given to ``create_multipart``; ``sha256`` here is not stored, and the
        answer reports exactly what ``head`` will report later."""
        validate_key(key)
        with _errors(key):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in parts]
                },
            )
        info = self.head(key)
        if info is None:
            raise StoreError(f"{key}: completed upload is not readable")
        return info

    def abort_multipart(self, key: str, upload_id: str) -> None:
        validate_key(key)
        try:
            with _errors(key):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except UploadNotFound:
            return

    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartUpload]:
        validate_prefix(prefix)
        uploads = []
        with _errors(prefix):
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    uploads.append(
                        MultipartUpload(
                            upload["Key"],
                            upload["UploadId"],
                            upload["Initiated"].astimezone(UTC),
                        )
                    )
        return uploads

    def head(self, key: str) -> ObjectInfo | None:
        validate_key(key)
        try:
            with _errors(key):
                response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ObjectNotFound:
            return None
        return ObjectInfo(
            key=key,
            size=response["ContentLength"],
            sha256=response.get("Metadata", {}).get(SHA256_METADATA_KEY),
            content_type=response.get("ContentType"),
            etag=response["ETag"].strip('"') if "ETag" in response else None,
        )

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Sends the GET before returning so a missing object fails at the call,
        while the caller can still answer 404 instead of a broken stream."""
        validate_key(key)
        validate_range(start, end)
        kwargs: dict[str, Any] = {}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        with _errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=key, **kwargs)
        body = response["Body"]

        def chunks() -> Iterator[bytes]:
            with body:
                yield from body.iter_chunks(CHUNK_SIZE)

        return chunks()

    def download_to(self, key: str, path: Path) -> None:
        write_chunks(self.open_range(key), path)

    def presigned_get_url(
        self,
        key: str,
        expires_seconds: int,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str:
        validate_key(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self.presigner.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            with _errors(key):
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except ObjectNotFound:
            return

    def list_keys(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        with _errors(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"]

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        validate_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        with _errors(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield ListedObject(obj["Key"], int(obj["Size"]), obj["LastModified"])

    def _put(self, key: str, body: Any, size: int, content_type: str, sha256: str) -> ObjectInfo:
        """``If-None-Match: *`` makes the never-overwrite rule atomic on the server,
        instead of a head-then-put that two writers could both pass."""
        with _errors(key):
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentLength=size,
                ContentType=content_type,
                Metadata={SHA256_METADATA_KEY: sha256},
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                IfNoneMatch="*",
            )
        etag = response.get("ETag")
        return ObjectInfo(key, size, sha256, content_type, etag.strip('"') if etag else None)

    def _create_bucket(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise StoreUnavailable(f"cannot create bucket {self.bucket!r}: {exc}") from exc


def content_disposition(filename: str) -> str:
    """RFC 6266 with an ASCII fallback, so Chinese file names survive old browsers."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: ClientError, key: str) -> StoreError:
    code = _code(exc)
    if code == "NoSuchUpload":
        return UploadNotFound(key)
    if code in _NOT_FOUND:
        return ObjectNotFound(key)
    if code in _EXISTS:
        return ObjectExists(key)
    if code == "BadDigest":
        return BadDigest(f"{key}: {exc}")
    if code == "InvalidRange":
        return InvalidRange(key)
    if code in _UNAVAILABLE:
        return StoreUnavailable(f"{code}: {exc}")
    return StoreError(f"{key}: {exc}")


class _errors:
    """Turns botocore exceptions into the store's own, so callers never import botocore."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, ClientError):
            raise _translate(exc, self.key) from exc
        if isinstance(exc, BotoCoreError):
            raise StoreUnavailable(f"{self.key}: {exc}") from exc
