"""Engine, the request-scoped session, and column types shared by every domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Engine, MetaData, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from voicebridge import clock
from voicebridge.config import DatabaseSettings
from voicebridge.errors import DomainError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite keeps no zone, so it is restored on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use voicebridge.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return clock.now()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=kwargs.pop("poolclass", NullPool),
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy
            # emit BEGIN itself (the recipe from SQLAlchemy's SQLite notes).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front. A deferred transaction that
            # read first and writes later fails at once with "database is locked"
            # when another writer got in between; waiting for the lock instead
            # serialises writers, which the embedded default can afford.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def engine_for(settings: DatabaseSettings, url: str, **kwargs: Any) -> Engine:
    """A process's engine with its pool sized by ``settings`` (see ``DatabaseSettings``).

    The short pool timeout is what turns a burst the database cannot take into
    quick 503s (``errors.install_error_handlers``) instead of 500s after 30 s.
    """
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_size", settings.pool_size)
        kwargs.setdefault("max_overflow", settings.max_overflow)
        kwargs.setdefault("pool_timeout", settings.pool_timeout_seconds)
    return make_engine(url, **kwargs)


def transaction(session: Session) -> Iterator[Session]:
    """Commit on success, roll back on any error; failed guesses are still kept.

    Services only ``flush()``; this is the single place that commits, so jobs
    enqueued by a failed request vanish with it.
    """
    try:
        yield session
        session.commit()
    except DomainError as exc:
        if exc.persist:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise


class _Adopter(Protocol):
    def adopt(self, session: Session) -> None: ...


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request.

    Under an ``Idempotency-Key`` the successful transaction is left open and
    handed to the idempotency middleware, which records the answer in it and
    commits both at once. A replay's re-check of the caller rolls back.
    """
    engine: Engine = request.app.state.engine
    if getattr(request.state, "idempotency_recheck", False):
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()
        return
    keyed: _Adopter | None = getattr(request.state, "idempotency", None)
    if keyed is None:
        with Session(engine, expire_on_commit=False) as session:
            yield from transaction(session)
        return
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except DomainError as exc:
        if exc.persist:
            session.commit()
        else:
            session.rollback()
        session.close()
        raise
    except BaseException:
        session.rollback()
        session.close()
        raise
    session.flush()
    keyed.adopt(session)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def enum_type(enum_cls: type[StrEnum]) -> SAEnum:
    """Enums as plain strings: new members need no ALTER TYPE on PostgreSQL."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=30,
        values_callable=lambda e: [m.value for m in e],
    )
