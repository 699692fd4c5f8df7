"""Reading and forgetting transcripts; light enough for any domain to import."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col, select

from voicebridge.messages.models import Message, Thread
from voicebridge.transcripts.models import Transcript

# Shown wherever a transcript is: it is the machine's guess, the recording is the record.
LABEL = "Machine-made transcript: it can be wrong. Listen to the recording."


def for_assets(
    session: Session, asset_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, Transcript]:
    ids = [a for a in asset_ids if a is not None]
    if not ids:
        return {}
    rows = session.exec(select(Transcript).where(col(Transcript.asset_id).in_(ids))).all()
    return {row.asset_id: row for row in rows}


def forget(session: Session, asset_ids: Iterable[uuid.UUID]) -> int:
    ids = list(asset_ids)
    if not ids:
        return 0
    result = session.exec(delete(Transcript).where(col(Transcript.asset_id).in_(ids)))
    session.flush()
    return int(result.rowcount or 0)


def forget_family(session: Session, child_id: uuid.UUID, guardian_id: uuid.UUID) -> int:
    """Every transcript of the messages between this child and this guardian."""
    assets = session.exec(
        select(Message.asset_id)
        .join(Thread, col(Thread.id) == col(Message.thread_id))
        .where(Thread.child_id == child_id, Thread.guardian_id == guardian_id)
    ).all()
    return forget(session, assets)
