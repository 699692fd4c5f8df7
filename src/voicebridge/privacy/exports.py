"""A guardian's copy of everything the service holds about them, as one zip.

``account.json``, ``children.json`` (links and every consent given or withdrawn),
and per conversation ``conversations/<child>/messages.json`` with each message
the guardian sent or received (and its machine transcript, if there is one) as an
Ogg/Opus file beside it. The zip is written
to a scratch file by streaming each object into it (memory stays flat however
long the recordings), stored under ``export/`` and served by a link that works
until ``expires_at``; the retention job deletes it after that.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.audio.models import AudioAsset
from voicebridge.errors import Conflict, Gone, NotFound
from voicebridge.families.models import Consent, GuardianLink
from voicebridge.jobs import service as jobs
from voicebridge.jobs.registry import JobContext, PermanentJobError, job_handler
from voicebridge.messages.models import Message, MessageState, Thread, ThreadKind
from voicebridge.privacy import audit
from voicebridge.privacy.models import DataExport, ExportState
from voicebridge.schools.models import Child
from voicebridge.schools.names import full_name
from voicebridge.storage.base import new_key
from voicebridge.transcripts.models import Transcript

EXPORT_JOB = "privacy.export"
ZIP_TYPE = "application/zip"


def request_export(session: Session, guardian: User) -> DataExport:
    """One export in the making at a time; asking again returns it."""
    existing = session.exec(
        select(DataExport).where(
            DataExport.guardian_id == guardian.id, DataExport.state == ExportState.queued
        )
    ).first()
    if existing is not None:
        return existing
    export = DataExport(guardian_id=guardian.id)
    session.add(export)
    session.flush()
    jobs.enqueue(
        session, EXPORT_JOB, {"export_id": str(export.id)}, dedupe_key=f"{EXPORT_JOB}:{export.id}"
    )
    audit.record(session, guardian, "export", "user", guardian.id, export=str(export.id))
    return export


def own_export(session: Session, guardian_id: uuid.UUID, export_id: uuid.UUID) -> DataExport:
    export = session.get(DataExport, export_id)
    if export is None or export.guardian_id != guardian_id:
        raise NotFound("No such export")
    return export


def downloadable(export: DataExport) -> str:
    if export.state is ExportState.expired or (
        export.expires_at is not None and export.expires_at <= clock.now()
    ):
        raise Gone("This export has expired; ask for a new one")
    if export.state is not ExportState.ready or export.object_key is None:
        raise Conflict("The export is not ready yet")
    return export.object_key


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _write_json(zf: zipfile.ZipFile, name: str, data: Any) -> None:
    zf.writestr(name, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))


def _copy_object(zf: zipfile.ZipFile, store: Any, key: str, name: str) -> None:
    # Opus is already compressed: stored, not deflated.
    with zf.open(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), "w") as out:
        for chunk in store.open_range(key):
            out.write(chunk)


def build(session: Session, store: Any, guardian: User, path: Path) -> int:
    """Writes the zip to ``path``; returns how many messages it holds."""
    links = session.exec(select(GuardianLink).where(GuardianLink.guardian_id == guardian.id)).all()
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        _write_json(
            zf,
            "account.json",
            {
                "id": str(guardian.id),
                "role": guardian.role.value,
                "login": guardian.login,
                "display_name": guardian.display_name,
                "created_at": _iso(guardian.created_at),
                "exported_at": _iso(clock.now()),
            },
        )
        children = []
        for link in links:
            child = session.get(Child, link.child_id)
            consents = session.exec(
                select(Consent).where(Consent.link_id == link.id).order_by(col(Consent.given_at))
            ).all()
            children.append(
                {
                    "link_id": str(link.id),
                    "child_id": str(link.child_id),
                    "child_name": full_name(child.family_name, child.given_name) if child else None,
                    "relation": link.relation.value,
                    "linked_at": _iso(link.created_at),
                    "revoked_at": _iso(link.revoked_at),
                    "consents": [
                        {
                            "notice_version": c.notice_version,
                            "purposes": c.purposes,
                            "retention_days": c.retention_days,
                            "given_at": _iso(c.given_at),
                            "withdrawn_at": _iso(c.withdrawn_at),
                        }
                        for c in consents
                    ],
                }
            )
        _write_json(zf, "children.json", children)
        threads = session.exec(
            select(Thread).where(
                Thread.kind == ThreadKind.family, Thread.guardian_id == guardian.id
            )
        ).all()
        for thread in threads:
            folder = f"conversations/{thread.child_id}"
            rows = session.exec(
                select(Message, AudioAsset)
                .join(AudioAsset, col(AudioAsset.id) == col(Message.asset_id))
                .where(
                    Message.thread_id == thread.id,
                    Message.state == MessageState.ready,
                    col(Message.deleted_at).is_(None),
                )
                .order_by(col(Message.created_at), col(Message.id))
            ).all()
            transcripts = dict(
                session.exec(
                    select(Transcript.asset_id, Transcript.text).where(
                        col(Transcript.asset_id).in_([asset.id for _, asset in rows])
                    )
                ).all()
            )
            listed = []
            for message, asset in rows:
                if asset.playable_key is None:
                    continue
                name = f"{folder}/{message.created_at:%Y%m%dT%H%M%S}-{message.id.hex[:8]}.ogg"
                _copy_object(zf, store, asset.playable_key, name)
                listed.append(
                    {
                        "id": str(message.id),
                        "direction": "sent" if message.sender_id == guardian.id else "received",
                        "sent_at": _iso(message.created_at),
                        "caption": message.caption,
                        "duration_ms": asset.duration_ms,
                        "file": name.rsplit("/", 1)[1],
                        # Machine-made, only where the guardian consented to transcripts.
                        "transcript": transcripts.get(asset.id),
                    }
                )
                count += 1
            _write_json(zf, f"{folder}/messages.json", listed)
    return count


@job_handler(EXPORT_JOB)
def run_export(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        export_id = uuid.UUID(str(payload["export_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError("payload needs export_id") from exc
    scratch = Path(tempfile.mkdtemp(prefix="vb-export-", dir=_scratch_dir(ctx)))
    try:
        with Session(ctx.engine) as session:
            export = session.get(DataExport, export_id)
            if export is None or export.state is not ExportState.queued:
                return
            guardian = session.get(User, export.guardian_id)
            if guardian is None:
                raise PermanentJobError("the guardian is gone")
            path = scratch / "export.zip"
            count = build(session, ctx.store, guardian, path)
        key = new_key("export", "zip")
        sha = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                sha.update(chunk)
        info = ctx.store.put_file(key, path, ZIP_TYPE, sha.hexdigest())
        with Session(ctx.engine) as session:
            export = session.get(DataExport, export_id)
            assert export is not None
            now = clock.now()
            export.object_key, export.size, export.sha256 = key, info.size, sha.hexdigest()
            export.messages = count
            export.state = ExportState.ready
            export.ready_at = now
            export.expires_at = now + timedelta(hours=ctx.settings.privacy.export_link_hours)
            session.add(export)
            session.commit()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_dir(ctx: JobContext) -> str | None:
    folder = ctx.settings.data_dir / "scratch"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(folder)


def own_exports(session: Session, guardian_id: uuid.UUID) -> list[DataExport]:
    return list(
        session.exec(
            select(DataExport)
            .where(DataExport.guardian_id == guardian_id)
            .order_by(col(DataExport.created_at).desc())
            .limit(50)
        ).all()
    )
