from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from voicebridge.accounts.models import User
from voicebridge.auth.deps import CurrentPrincipal, GuardianPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.families import service
from voicebridge.families.deps import ManagedInvitation, OwnLink, StaffLink
from voicebridge.families.models import GuardianLink
from voicebridge.families.schemas import (
    ConsentIn,
    ConsentPublic,
    InvitationCreate,
    InvitationIssued,
    InvitationPublic,
    LinkedChild,
    LinkPublic,
    RedeemRequest,
    RevokeRequest,
)
from voicebridge.openapi import problems
from voicebridge.privacy import service as privacy
from voicebridge.schools.deps import ManagedChild

router = APIRouter(tags=["families"])


def _link_out(session: SessionDep, link: GuardianLink, guardian: User) -> LinkPublic:
    consent = service.current_consent(session, link.id)
    return LinkPublic(
        id=link.id,
        child_id=link.child_id,
        guardian_id=link.guardian_id,
        guardian_name=guardian.display_name,
        guardian_phone=guardian.login,
        relation=link.relation,
        created_at=link.created_at,
        revoked_at=link.revoked_at,
        consent=ConsentPublic.model_validate(consent) if consent else None,
        erasure_due_at=privacy.erasure_due(session, link.id),
    )


@router.post("/children/{child_id}/invitations", status_code=status.HTTP_201_CREATED)
def issue_invitation(
    body: InvitationCreate,
    child: ManagedChild,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> InvitationIssued:
    invitation, code = service.issue_invitation(
        session, settings.auth, child, body.relation, body.note, principal.id
    )
    return InvitationIssued(**InvitationPublic.model_validate(invitation).model_dump(), code=code)


@router.get("/children/{child_id}/invitations")
def list_invitations(child: ManagedChild, session: SessionDep) -> list[InvitationPublic]:
    return [InvitationPublic.model_validate(i) for i in service.list_invitations(session, child.id)]


@router.delete("/invitations/{invitation_id}")
def cancel_invitation(
    invitation: ManagedInvitation, principal: CurrentPrincipal, session: SessionDep
) -> InvitationPublic:
    return InvitationPublic.model_validate(
        service.cancel_invitation(session, invitation, principal.id)
    )


@router.post("/invitations/redeem", status_code=status.HTTP_201_CREATED)
def redeem_invitation(
    body: RedeemRequest, principal: GuardianPrincipal, session: SessionDep, settings: SettingsDep
) -> LinkPublic:
    link = service.redeem(
        session,
        settings.auth,
        principal.user,
        body.code,
        notice_version=body.consent.notice_version,
        purposes=body.consent.purposes,
        retention_days=body.consent.retention_days,
        agreed=body.consent.agreed,
    )
    return _link_out(session, link, principal.user)


@router.get("/children/{child_id}/guardians")
def list_guardians(child: ManagedChild, session: SessionDep) -> list[LinkPublic]:
    return [
        _link_out(session, link, user) for link, user in service.links_of_child(session, child.id)
    ]


@router.post("/guardian-links/{link_id}/revoke")
def revoke_link(
    body: RevokeRequest,
    link: StaffLink,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> LinkPublic:
    grace = timedelta(days=settings.privacy.withdrawal_grace_days)
    service.revoke_link(session, link, principal.id, body.reason, grace=grace)
    return _link_out(session, link, service.guardian_of(session, link))


@router.post("/guardian-links/{link_id}/withdraw-consent")
def withdraw_consent(
    link: OwnLink, principal: GuardianPrincipal, session: SessionDep, settings: SettingsDep
) -> LinkPublic:
    """The conversation closes now and is deleted on ``erasure_due_at``."""
    grace = timedelta(days=settings.privacy.withdrawal_grace_days)
    service.withdraw_consent(session, link, grace=grace)
    return _link_out(session, link, principal.user)


@router.post("/guardian-links/{link_id}/consent", responses=problems(409))
def renew_consent(
    body: ConsentIn,
    link: OwnLink,
    principal: GuardianPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> LinkPublic:
    """Accept the current consent notice: after a new version, or to undo a withdrawal."""
    service.renew_consent(
        session,
        link,
        notice_version=body.notice_version,
        current_version=settings.privacy.notice_version,
        purposes=body.purposes,
        retention_days=body.retention_days,
        agreed=body.agreed,
    )
    return _link_out(session, link, principal.user)


@router.get("/me/children")
def my_children(
    principal: GuardianPrincipal, session: SessionDep, settings: SettingsDep
) -> list[LinkedChild]:
    current = settings.privacy.notice_version
    return [
        LinkedChild(
            link_id=link.id,
            child_id=child.id,
            given_name=child.given_name,
            family_name=child.family_name,
            school_id=school.id,
            school_name=school.name,
            relation=link.relation,
            consent_needed=service.needs_consent(session, link.id, current),
        )
        for link, child, school in service.children_of_guardian(session, principal.id)
    ]
