"""Dependencies of the upload routes: the store, and short transactions for streaming."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from voicebridge.auth.deps import SettingsDep
from voicebridge.db import SessionDep
from voicebridge.storage.deps import StoreDep
from voicebridge.uploads.ingest import Ingest, UnitOfWork


def get_unit_of_work(session: SessionDep) -> UnitOfWork:
    """A body that streams for minutes is received in many short transactions on
    the request's session, each committed once its bytes are durable (see
    ``ingest``). A commit hands the connection back to the pool, so a slow
    upload does not pin one, and progress is visible to every API process."""

    @contextmanager
    def unit() -> Iterator[Session]:
        # End what the request read so far (its principal): a unit starts on a
        # fresh snapshot, which SQLite needs to turn a read into a write.
        session.commit()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()

    return unit


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


def get_ingest(uow: UnitOfWorkDep, store: StoreDep, settings: SettingsDep) -> Ingest:
    return Ingest(uow, store, settings)


IngestDep = Annotated[Ingest, Depends(get_ingest)]
