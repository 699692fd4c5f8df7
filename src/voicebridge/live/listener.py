"""One LISTEN connection per API process on PostgreSQL, feeding the process's broker."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg import sql
from sqlalchemy import Engine

from voicebridge.live.broker import BROKER
from voicebridge.live.service import CHANNEL, parse_payload

log = logging.getLogger(__name__)


def dsn_of(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(engine: Engine, ready: asyncio.Event | None = None) -> None:
    """Runs until cancelled; reconnects after a lost connection.

    Events sent while the connection was down are in the table: after every
    (re)connect, each open stream reads what it may have missed.
    """
    dsn = dsn_of(engine)
    first = True
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                if not first:
                    BROKER.catch_up_all()
                first = False
                if ready is not None:
                    ready.set()
                async for notice in conn.notifies():
                    try:
                        events = parse_payload(notice.payload)
                    except (ValueError, KeyError, TypeError):
                        log.warning("ignored a malformed live event payload")
                        continue
                    BROKER.deliver(events)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep listening whatever the database did
            log.exception("live listener lost its connection; reconnecting")
            await asyncio.sleep(1.0)
