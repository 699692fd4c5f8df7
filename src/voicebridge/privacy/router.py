"""Consent notice, closing a child's record, exports, erasure and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from voicebridge.accounts.models import User
from voicebridge.auth.deps import AdminPrincipal, CurrentPrincipal, GuardianPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.errors import InvalidInput, NotFound
from voicebridge.openapi import problems
from voicebridge.privacy import audit, exports, notices, service
from voicebridge.privacy.schemas import (
    AuditEventPublic,
    AuditPage,
    CloseRecord,
    EraseAccount,
    ErasurePublic,
    ExportPublic,
    NoticePublic,
    PurposePublic,
)
from voicebridge.schools.deps import ManagedChild
from voicebridge.storage.deps import StoreDep

router = APIRouter(tags=["privacy"])


@router.get("/consent-notice")
def consent_notice(settings: SettingsDep) -> NoticePublic:
    """The notice guardians accept now: each purpose, the retention choices, the contact."""
    cfg = settings.privacy
    notice = notices.notice(cfg.notice_version)
    return NoticePublic(
        version=notice.version,
        published=notice.published,
        purposes=[PurposePublic(code=p.code, zh=p.zh, en=p.en) for p in notice.purposes],
        retention_choices=list(notice.retention_choices),
        withdrawal_grace_days=cfg.withdrawal_grace_days,
        contact=cfg.contact,
        zh=notice.zh,
        en=notice.en,
    )


@router.post("/children/{child_id}/close", responses=problems(409))
def close_child_record(
    body: CloseRecord,
    child: ManagedChild,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> ErasurePublic:
    """The child left the school: the record closes now, the child's data goes after grace."""
    erasure = service.close_child_record(
        session, settings.privacy, child, principal.id, body.reason
    )
    return ErasurePublic.model_validate(erasure)


@router.post("/me/exports", status_code=status.HTTP_202_ACCEPTED)
def request_export(principal: GuardianPrincipal, session: SessionDep) -> ExportPublic:
    """Starts a zip of everything held about the caller (Ogg files and JSON)."""
    return ExportPublic.model_validate(exports.request_export(session, principal.user))


@router.get("/me/exports")
def list_exports(principal: GuardianPrincipal, session: SessionDep) -> list[ExportPublic]:
    return [ExportPublic.model_validate(e) for e in exports.own_exports(session, principal.id)]


@router.get("/me/exports/{export_id}")
def get_export(
    export_id: uuid.UUID, principal: GuardianPrincipal, session: SessionDep
) -> ExportPublic:
    return ExportPublic.model_validate(exports.own_export(session, principal.id, export_id))


@router.get(
    "/me/exports/{export_id}/download",
    response_class=Response,
    responses={
        200: {"content": {exports.ZIP_TYPE: {}}, "description": "The zip"},
        307: {"description": "A short-lived link to the zip in the object store"},
        **problems(409, 410),
    },
)
def download_export(
    export_id: uuid.UUID,
    principal: GuardianPrincipal,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    export = exports.own_export(session, principal.id, export_id)
    key = exports.downloadable(export)
    filename = f"voicebridge-{export.created_at:%Y%m%d}.zip"
    url = store.presigned_get_url(
        key, settings.storage.presign_seconds, content_type=exports.ZIP_TYPE, filename=filename
    )
    if url is not None:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    return StreamingResponse(
        store.open_range(key),
        media_type=exports.ZIP_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            **({"Content-Length": str(export.size)} if export.size is not None else {}),
        },
    )


@router.post("/me/erasure", status_code=status.HTTP_202_ACCEPTED, responses=problems(409))
def erase_my_account(
    body: EraseAccount, principal: GuardianPrincipal, session: SessionDep
) -> ErasurePublic:
    """Erases the caller's account, links, conversations and recordings, for good."""
    if not body.confirm:
        raise InvalidInput("Confirm the erasure")
    erasure = service.erase_account(session, principal.user, principal.user)
    return ErasurePublic.model_validate(erasure)


@router.post(
    "/users/{user_id}/erase", status_code=status.HTTP_202_ACCEPTED, responses=problems(409)
)
def erase_account(
    user_id: uuid.UUID, body: EraseAccount, principal: AdminPrincipal, session: SessionDep
) -> ErasurePublic:
    """An administrator carries out a guardian's erasure request received another way."""
    if not body.confirm:
        raise InvalidInput("Confirm the erasure")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    return ErasurePublic.model_validate(service.erase_account(session, user, principal.user))


@router.get("/admin/audit")
def audit_trail(
    _: AdminPrincipal,
    session: SessionDep,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    subject_id: uuid.UUID | None = None,
    school_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Staff, admin, moderator and supervisor actions, newest first, with their hashes."""
    rows = audit.search(
        session,
        actor_id=actor_id,
        action=action,
        subject_id=subject_id,
        school_id=school_id,
        since=since,
        until=until,
        before_seq=before_seq,
        limit=limit + 1,
    )
    page = rows[:limit]
    return AuditPage(
        items=[AuditEventPublic.model_validate(r) for r in page],
        next_before_seq=page[-1].seq if len(rows) > limit and page else None,
    )
