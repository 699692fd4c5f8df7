"""Dependencies of the upload routes: the store, and short transactions for streaming."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from voicebridge.auth.deps import SettingsDep
from voicebridge.db import transaction
from voicebridge.storage.base import ObjectStore
from voicebridge.uploads.ingest import Ingest, UnitOfWork


def get_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


def get_unit_of_work(request: Request) -> UnitOfWork:
    """A body that streams for minutes is received in many small transactions,
    each committed as soon as its bytes are durable (see ``ingest``); holding one
    transaction open that long would pin a connection and hide progress."""
    engine: Engine = request.app.state.engine

    @contextmanager
    def unit() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield from transaction(session)

    return unit


StoreDep = Annotated[ObjectStore, Depends(get_store)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


def get_ingest(uow: UnitOfWorkDep, store: StoreDep, settings: SettingsDep) -> Ingest:
    return Ingest(uow, store, settings)


IngestDep = Annotated[Ingest, Depends(get_ingest)]
