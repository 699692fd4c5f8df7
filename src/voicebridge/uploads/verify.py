"""`voicebridge verify`: every row points at its object, and every object at a row.

One pass, bounded memory, no request per object: the bucket's listing (which
S3 returns in byte order of key) is merged with one query over every key the
database knows, ordered the same way. Run it after a restore, and nightly.

- A key a row needs but the store lacks, or holds at another size, is a
  problem: a listener would find nothing to play.
- An object no row knows is a problem once it is older than the grace period
  (younger ones may belong to a request or job that has not committed yet).
- ``deep`` also reads every object that has a recorded SHA-256 and compares.
- Open uploads whose multipart upload is gone (expected after a restore: the
  store's unfinished uploads are not in a backup) and unfinished multipart
  uploads no row knows are reported as warnings; the periodic sweeps and
  upload expiry clear both.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import Engine, String, literal, null, select, union_all
from sqlalchemy import cast as sql_cast

from voicebridge import clock
from voicebridge.audio.models import AudioAsset
from voicebridge.privacy.models import DataExport
from voicebridge.storage.base import ListedObject, ObjectStore
from voicebridge.uploads.models import Upload

MAX_LISTED_PROBLEMS = 1000


@dataclass(frozen=True)
class Reference:
    key: str
    size: int | None
    sha256: str | None
    owner: str
    # An open upload's key has no object until its last byte arrives.
    required: bool


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str
    detail: str


@dataclass
class Report:
    objects: int = 0
    object_bytes: int = 0
    references: int = 0
    hashed: int = 0
    young: int = 0
    open_uploads: int = 0
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, kind: str, key: str, detail: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(Finding(kind, key, detail))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "objects": self.objects,
            "object_bytes": self.object_bytes,
            "references": self.references,
            "hashed": self.hashed,
            "young_unreferenced": self.young,
            "open_uploads": self.open_uploads,
            "problem_count": self.problem_count,
            "problems": [f.__dict__ for f in self.problems],
            "warnings": [f.__dict__ for f in self.warnings],
        }

    def summary(self) -> str:
        lines = [
            f"{self.objects} objects ({self.object_bytes} bytes), {self.references} references"
            f", {self.hashed} hashed, {self.young} too young to judge"
            f", {self.open_uploads} open uploads",
        ]
        lines += [f"PROBLEM {f.kind}: {f.key}: {f.detail}" for f in self.problems]
        if self.problem_count > len(self.problems):
            lines.append(f"... and {self.problem_count - len(self.problems)} more problems")
        lines += [f"warning {f.kind}: {f.key}: {f.detail}" for f in self.warnings]
        lines.append("OK" if self.ok else f"FAILED: {self.problem_count} problems")
        return "\n".join(lines)


def references(engine: Engine, batch: int = 1000) -> Iterator[Reference]:
    """Every key a row holds, in byte order of key, streamed from the database."""
    asset = AudioAsset.__table__  # type: ignore[attr-defined]
    upload = Upload.__table__  # type: ignore[attr-defined]
    text_id = sql_cast(asset.c.id, String)
    originals = select(
        asset.c.original_key.label("key"),
        asset.c.original_size.label("size"),
        asset.c.original_sha256.label("sha256"),
        text_id.label("owner"),
        literal("original").label("role"),
    ).where(asset.c.original_key.is_not(None))
    playables = select(
        asset.c.playable_key,
        asset.c.playable_size,
        asset.c.playable_sha256,
        text_id,
        literal("playable"),
    ).where(asset.c.playable_key.is_not(None))
    uploads = select(
        upload.c.object_key,
        upload.c.length,
        sql_cast(null(), String),
        sql_cast(upload.c.id, String),
        literal("upload"),
    ).where(upload.c.completed_at.is_(None))
    export = DataExport.__table__  # type: ignore[attr-defined]
    exports = select(
        export.c.object_key,
        export.c.size,
        export.c.sha256,
        sql_cast(export.c.id, String),
        literal("export"),
    ).where(export.c.object_key.is_not(None))
    every = union_all(originals, playables, uploads, exports).subquery()
    # S3 lists in byte order; PostgreSQL's default collation does not sort that way.
    order = every.c.key.collate("C") if engine.dialect.name == "postgresql" else every.c.key
    stmt = select(every).order_by(order)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for key, size, sha256, owner, role in result:
            kind = role if role in ("upload", "export") else "asset"
            yield Reference(
                key=key,
                size=int(size) if size is not None else None,
                sha256=sha256,
                owner=f"{kind} {_uuid_text(owner)} ({role})",
                required=role != "upload",
            )


def _uuid_text(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _sha256(store: ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in store.open_range(key):
        digest.update(chunk)
    return digest.hexdigest()


def _in_order(items: Iterator[Any], what: str) -> Iterator[Any]:
    previous: str | None = None
    for item in items:
        if previous is not None and item.key < previous:
            raise RuntimeError(f"{what} is not in key order ({previous!r} before {item.key!r})")
        previous = item.key
        yield item


def verify(
    engine: Engine,
    store: ObjectStore,
    *,
    deep: bool = False,
    grace: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> Report:
    report = Report()
    cutoff = (now or clock.now()) - grace
    objects = _in_order(iter(store.list_objects("")), "the store's listing")
    rows = groupby(_in_order(references(engine), "the database's keys"), key=lambda r: r.key)
    obj: ListedObject | None = next(objects, None)
    group = next(rows, None)
    while obj is not None or group is not None:
        if group is None or (obj is not None and obj.key < group[0]):
            assert obj is not None
            _unreferenced(report, obj, cutoff)
            obj = next(objects, None)
            continue
        key, refs = group[0], list(group[1])
        report.references += len(refs)
        if obj is None or group[0] < obj.key:
            for ref in refs:
                if ref.required:
                    report.problem("missing-object", key, f"{ref.owner} points at nothing")
            report.open_uploads += sum(not r.required for r in refs)
            group = next(rows, None)
            continue
        _matched(report, store, obj, refs, deep)
        obj = next(objects, None)
        group = next(rows, None)
    _multipart(report, store, engine, cutoff)
    return report


def _unreferenced(report: Report, obj: ListedObject, cutoff: datetime) -> None:
    report.objects += 1
    report.object_bytes += obj.size
    if obj.modified >= cutoff:
        report.young += 1
    else:
        report.problem("orphan-object", obj.key, f"{obj.size} bytes that no row knows")


def _matched(
    report: Report, store: ObjectStore, obj: ListedObject, refs: list[Reference], deep: bool
) -> None:
    report.objects += 1
    report.object_bytes += obj.size
    for ref in refs:
        if not ref.required:
            # An upload that finished in the store but not yet in the database.
            report.open_uploads += 1
        elif ref.size is not None and ref.size != obj.size:
            report.problem(
                "size-mismatch", obj.key, f"{ref.owner} expects {ref.size} bytes, found {obj.size}"
            )
            return
    expected = {r.sha256 for r in refs if r.required and r.sha256}
    if deep and expected:
        actual = _sha256(store, obj.key)
        report.hashed += 1
        if actual not in expected:
            report.problem("checksum-mismatch", obj.key, f"SHA-256 is {actual}")


def _multipart(report: Report, store: ObjectStore, engine: Engine, cutoff: datetime) -> None:
    upload = Upload.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        open_uploads = {
            row.multipart_id: (row.object_key, row.id)
            for row in conn.execute(
                select(upload.c.multipart_id, upload.c.object_key, upload.c.id).where(
                    upload.c.completed_at.is_(None)
                )
            )
        }
    in_store = {mp.upload_id: mp for mp in store.list_multipart_uploads("")}
    for multipart_id, (key, upload_id) in open_uploads.items():
        if multipart_id not in in_store:
            report.warnings.append(
                Finding(
                    "lost-upload",
                    key,
                    f"upload {_uuid_text(upload_id)} has no multipart upload in the store; "
                    "its client must start again (it expires by itself)",
                )
            )
    for multipart_id, mp in in_store.items():
        if multipart_id not in open_uploads and mp.initiated < cutoff:
            report.warnings.append(
                Finding("orphan-multipart", mp.key, "no upload row; the hourly sweep aborts it")
            )
