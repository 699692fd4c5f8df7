"""The not-yet-flushed tail of an upload, kept on local disk until it makes a part.

S3 refuses parts under 5 MiB (but the last), while tus clients send chunks of
any size and may vanish mid-chunk. So bytes go to a spool file first; once it
holds ``part_bytes`` it is renamed to a part file (the next part number) and a
new spool begins. Each byte is written to disk once and read once, by the part
upload; several part files may be on their way to the store at a time.

Limitation: the spool is on the API machine's disk. With several API
machines, a PATCH routed to another machine than the previous one sees no
spool and lowers the offset to what is in finished parts, so the client
resends at most one part's worth (correct, but wasteful). A shared volume for
``uploads.spool_path`` removes that; flushing each PATCH as its own part would
too, were it not for S3's 5 MiB minimum part size.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from voicebridge.config import Settings


def spool_dir(settings: Settings) -> Path:
    path = settings.uploads.spool_path or settings.data_dir / "spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_file(settings: Settings, upload_id: uuid.UUID) -> Path:
    return spool_dir(settings) / f"{upload_id.hex}.spool"


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def truncate(path: Path, length: int) -> None:
    """Drops bytes past ``length``: written but never acknowledged, so never counted."""
    if not path.exists():
        return
    with path.open("r+b") as fh:
        fh.truncate(length)
        fh.flush()
        os.fsync(fh.fileno())


def append(path: Path, data: bytes | bytearray, at: int) -> None:
    """Writes ``data`` at byte ``at`` and fsyncs before the offset may count it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.ftruncate(fd, at)
        os.lseek(fd, at, os.SEEK_SET)
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError:
            # A full disk mid-write: give back what the half-written batch took, so
            # the spool holds exactly the counted bytes and a retry finds room.
            os.ftruncate(fd, at)
            raise
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def pending_file(settings: Settings, upload_id: uuid.UUID, number: int) -> Path:
    return spool_dir(settings) / f"{upload_id.hex}.part{number}"


def pending_parts(settings: Settings, upload_id: uuid.UUID) -> list[tuple[int, Path]]:
    """Part files cut from the spool and not yet recorded as sent, by part number.

    Several can exist at once (``uploads.parts_in_flight``), and a crash or a
    failed part leaves them for the next request of the upload to send.
    """
    found = []
    for path in spool_dir(settings).glob(f"{upload_id.hex}.part*"):
        suffix = path.name.rsplit(".part", 1)[1]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return sorted(found)


def promote(path: Path, target: Path, size: int) -> None:
    """The spool's counted bytes become a part file; the spool starts empty.

    A rename, so a crash leaves either the spool or the part file, never both
    halves of one; bytes past ``size`` (written, never counted) are cut first.
    """
    truncate(path, size)
    os.replace(path, target)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
