"""GET /help/access-log: who opened which case, for supervisors (the log itself is append-only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, select

from voicebridge.accounts.models import User
from voicebridge.db import SessionDep
from voicebridge.help.deps import SupervisorPrincipal
from voicebridge.help.models import CaseAccessLog

router = APIRouter(tags=["help"])


class AccessEntry(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    action: str
    at: datetime


@router.get("/help/access-log")
def access_log(
    _: SupervisorPrincipal,
    session: SessionDep,
    request_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[AccessEntry]:
    """Newest first; one case's entries with ``request_id``."""
    stmt = select(CaseAccessLog, User.display_name).join(
        User, col(User.id) == col(CaseAccessLog.user_id)
    )
    if request_id is not None:
        stmt = stmt.where(CaseAccessLog.request_id == request_id)
    rows = session.exec(stmt.order_by(col(CaseAccessLog.at).desc()).limit(limit))
    return [
        AccessEntry(
            id=entry.id,
            request_id=entry.request_id,
            user_id=entry.user_id,
            user_name=name,
            action=entry.action,
            at=entry.at,
        )
        for entry, name in rows
    ]
