"""What only the S3 backend does: presigned playback URLs and a server that demands signatures."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tests.fixtures.seaweed import SeaweedServer
from voicebridge.config import StorageSettings
from voicebridge.storage import StoreUnavailable, new_key
from voicebridge.storage.factory import make_store
from voicebridge.storage.s3 import S3ObjectStore


def http_get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def stored_key(s3_store: S3ObjectStore) -> str:
    key = new_key("audio", "ogg")
    s3_store.put_bytes(key, b"OggS voice", "audio/ogg")
    return key


def test_presigned_url_plays_with_plain_http_get(s3_store: S3ObjectStore, stored_key: str) -> None:
    url = s3_store.presigned_get_url(stored_key, 60, content_type="audio/ogg", filename="妈妈.ogg")

    status, body, headers = http_get(url)

    assert status == 200
    assert body == b"OggS voice"
    assert headers["Content-Type"] == "audio/ogg"
    assert "filename*=UTF-8''%E5%A6%88%E5%A6%88.ogg" in headers["Content-Disposition"]


def test_tampered_presigned_urls_are_refused(s3_store: S3ObjectStore, stored_key: str) -> None:
    other = new_key("audio", "ogg")
    s3_store.put_bytes(other, b"someone else's voice", "audio/ogg")
    url = s3_store.presigned_get_url(stored_key, 60)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    forged = ("0" if signature[0] != "0" else "1") + signature[1:]

    assert http_get(url.replace(stored_key, other))[0] == 403
    assert http_get(replace_query(url, **{"X-Amz-Signature": forged}))[0] == 403
    assert http_get(replace_query(url, **{"X-Amz-Expires": "604800"}))[0] == 403


def test_expired_presigned_url_is_refused(s3_store: S3ObjectStore, stored_key: str) -> None:
    url = s3_store.presigned_get_url(stored_key, 1)
    time.sleep(2.2)

    assert http_get(url)[0] == 403


def test_unsigned_requests_are_refused(
    seaweed: SeaweedServer, s3_store: S3ObjectStore, stored_key: str
) -> None:
    assert http_get(f"{seaweed.endpoint_url}/{s3_store.bucket}/{stored_key}")[0] == 403


def test_check_reports_a_missing_bucket(seaweed: SeaweedServer) -> None:
    store = seaweed.store("vb-missing-" + uuid.uuid4().hex, create_bucket=False)

    with pytest.raises(StoreUnavailable):
        store.check()
    with pytest.raises(StoreUnavailable):
        store.ensure_ready()


def test_check_reports_wrong_credentials(seaweed: SeaweedServer, s3_store: S3ObjectStore) -> None:
    store = S3ObjectStore(
        seaweed.endpoint_url, seaweed.region, s3_store.bucket, "nobody", "wrong-secret", True
    )

    with pytest.raises(StoreUnavailable):
        store.check()


def test_factory_builds_a_working_s3_store(seaweed: SeaweedServer) -> None:
    settings = StorageSettings(
        backend="s3",
        endpoint_url=seaweed.endpoint_url,
        region=seaweed.region,
        bucket="vb-factory-" + uuid.uuid4().hex,
        access_key_id=seaweed.access_key_id,
        secret_access_key=seaweed.secret_access_key,
        create_bucket=True,
    )
    store = make_store(settings)

    store.ensure_ready()
    key = new_key("manifest", "json")
    store.put_bytes(key, b"{}", "application/json")

    assert store.head(key) is not None
    store.delete(key)
