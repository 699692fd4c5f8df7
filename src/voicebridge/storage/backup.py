"""Copying a bucket to a backup and back, one object at a time.

Objects are write-once under server-made keys, so a copy is incremental by
nature: a key the target already holds at the same size is the same object
and is skipped. A key held at another size is reported, never overwritten.
Both listings come in key order and are merged, so memory stays flat
however many objects there are; each copy streams through a temporary file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from voicebridge.storage.base import ListedObject, ObjectStore, StoreError


@dataclass
class CopyReport:
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"copied {self.copied} objects ({self.copied_bytes} bytes), "
            f"{self.skipped} already there"
        ]
        lines += [f"CONFLICT {key}" for key in self.conflicts]
        return "\n".join(lines)


def copy_objects(
    source: ObjectStore, target: ObjectStore, scratch: Path | None = None
) -> CopyReport:
    report = CopyReport()
    have = iter(target.list_objects(""))
    there: ListedObject | None = next(have, None)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "object"
        for obj in source.list_objects(""):
            while there is not None and there.key < obj.key:
                there = next(have, None)
            if there is not None and there.key == obj.key:
                if there.size == obj.size:
                    report.skipped += 1
                else:
                    report.conflicts.append(obj.key)
                continue
            info = source.head(obj.key)
            if info is None:
                continue  # deleted since it was listed
            source.download_to(obj.key, path)
            stored = target.put_file(
                obj.key, path, info.content_type or "application/octet-stream", info.sha256
            )
            if stored.size != obj.size:
                raise StoreError(f"{obj.key}: copied {stored.size} bytes of {obj.size}")
            report.copied += 1
            report.copied_bytes += obj.size
            path.unlink()
    return report
