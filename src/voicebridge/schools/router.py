from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from voicebridge import clock
from voicebridge.auth import policy
from voicebridge.auth import service as auth
from voicebridge.auth.deps import (
    AdminPrincipal,
    CurrentDevice,
    CurrentPrincipal,
    PasswordsDep,
    SettingsDep,
)
from voicebridge.db import SessionDep
from voicebridge.pagination import DEFAULT_LIMIT, MAX_LIMIT, encode_cursor
from voicebridge.schools import listening, service
from voicebridge.schools.deps import (
    AdministeredSchool,
    ManagedChild,
    ManagedSchool,
    ViewableChild,
    ViewableSchool,
)
from voicebridge.schools.models import Child, School, StaffInvitation
from voicebridge.schools.schemas import (
    ChildEnrol,
    ChildPage,
    ChildPublic,
    ChildUpdate,
    ClassCreate,
    ClassPublic,
    DeviceCreate,
    DevicePublic,
    DeviceRegistered,
    ListeningHoursStatus,
    ListeningWindow,
    PinReset,
    Roster,
    RosterChild,
    RosterClass,
    SchoolCreate,
    SchoolPublic,
    SchoolUpdate,
    StaffCreate,
    StaffInvitationPublic,
    StaffPublic,
)

router = APIRouter(tags=["schools"])


def _child_out(child: Child) -> ChildPublic:
    return ChildPublic(
        id=child.id,
        school_id=child.school_id,
        class_id=child.class_id,
        given_name=child.given_name,
        family_name=child.family_name,
        birth_year=child.birth_year,
        pin_locked=child.pin_locked_at is not None,
        enrolled_at=child.enrolled_at,
    )


def _school_out(school: School) -> SchoolPublic:
    return SchoolPublic.model_validate(school)


@router.post("/schools", status_code=status.HTTP_201_CREATED)
def create_school(body: SchoolCreate, _: AdminPrincipal, session: SessionDep) -> SchoolPublic:
    school = service.create_school(
        session,
        body.name,
        body.region,
        body.timezone,
        [w.model_dump() for w in body.listening_hours],
    )
    return _school_out(school)


@router.get("/schools")
def list_schools(principal: CurrentPrincipal, session: SessionDep) -> list[SchoolPublic]:
    ids = (
        None
        if policy.is_admin(principal.user)
        else policy.staff_school_ids(session, principal.user)
    )
    return [_school_out(s) for s in service.list_schools(session, ids)]


@router.get("/schools/{school_id}")
def get_school(school: ViewableSchool) -> SchoolPublic:
    return _school_out(school)


@router.patch("/schools/{school_id}")
def update_school(
    body: SchoolUpdate, school: AdministeredSchool, session: SessionDep
) -> SchoolPublic:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return _school_out(service.update_school(session, school, changes))


@router.post("/schools/{school_id}/staff", status_code=status.HTTP_201_CREATED)
def add_staff(
    body: StaffCreate,
    school: AdministeredSchool,
    principal: CurrentPrincipal,
    session: SessionDep,
    passwords: PasswordsDep,
) -> StaffPublic:
    """A new login gets an account and joins at once; an existing account is invited
    (`state: invited`) and joins only when its owner accepts."""
    joined, user = service.add_staff(
        session,
        passwords,
        school,
        login=body.login.strip().lower(),
        display_name=body.display_name,
        password=body.password,
        role=body.role,
        is_safeguarding_contact=body.is_safeguarding_contact,
        invited_by=principal.id,
    )
    return StaffPublic(
        id=joined.id,
        user_id=user.id,
        school_id=school.id,
        display_name=user.display_name,
        login=user.login,
        role=joined.role,
        is_safeguarding_contact=joined.is_safeguarding_contact,
        state="invited" if isinstance(joined, StaffInvitation) else "active",
    )


@router.get("/me/staff-invitations")
def my_staff_invitations(
    principal: CurrentPrincipal, session: SessionDep
) -> list[StaffInvitationPublic]:
    """Schools that asked this account to join their staff, waiting for an answer."""
    out = []
    for invitation in service.pending_invitations(session, principal.id):
        school = session.get(School, invitation.school_id)
        out.append(
            StaffInvitationPublic(
                id=invitation.id,
                school_id=invitation.school_id,
                school_name=school.name if school else "",
                role=invitation.role,
                is_safeguarding_contact=invitation.is_safeguarding_contact,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
            )
        )
    return out


@router.post("/staff-invitations/{invitation_id}/accept")
def accept_staff_invitation(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> StaffPublic:
    """The invited person joins the school's staff."""
    membership = service.answer_invitation(session, principal.user, invitation_id, True)
    assert membership is not None
    return StaffPublic(
        id=membership.id,
        user_id=principal.id,
        school_id=membership.school_id,
        display_name=principal.user.display_name,
        login=principal.user.login,
        role=membership.role,
        is_safeguarding_contact=membership.is_safeguarding_contact,
    )


@router.post("/staff-invitations/{invitation_id}/decline", status_code=status.HTTP_204_NO_CONTENT)
def decline_staff_invitation(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    service.answer_invitation(session, principal.user, invitation_id, False)


@router.get("/schools/{school_id}/staff")
def list_staff(school: ViewableSchool, session: SessionDep) -> list[StaffPublic]:
    return [
        StaffPublic(
            id=m.id,
            user_id=u.id,
            school_id=school.id,
            display_name=u.display_name,
            login=u.login,
            role=m.role,
            is_safeguarding_contact=m.is_safeguarding_contact,
        )
        for m, u in service.list_staff(session, school.id)
    ]


@router.delete("/schools/{school_id}/staff/{membership_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_staff(membership_id: uuid.UUID, school: AdministeredSchool, session: SessionDep) -> None:
    service.end_membership(session, service.get_membership(session, school.id, membership_id))


@router.post("/schools/{school_id}/classes", status_code=status.HTTP_201_CREATED)
def create_class(body: ClassCreate, school: ManagedSchool, session: SessionDep) -> ClassPublic:
    return ClassPublic.model_validate(service.create_class(session, school, body.name))


@router.get("/schools/{school_id}/classes")
def list_classes(school: ViewableSchool, session: SessionDep) -> list[ClassPublic]:
    return [ClassPublic.model_validate(c) for c in service.list_classes(session, school.id)]


@router.post("/schools/{school_id}/children", status_code=status.HTTP_201_CREATED)
def enrol_child(
    body: ChildEnrol,
    school: ManagedSchool,
    principal: CurrentPrincipal,
    session: SessionDep,
    passwords: PasswordsDep,
) -> ChildPublic:
    child = service.enrol_child(
        session,
        passwords,
        school,
        given_name=body.given_name,
        family_name=body.family_name,
        class_id=body.class_id,
        birth_year=body.birth_year,
        pin=body.pin,
        by=principal.id,
    )
    return _child_out(child)


@router.get("/schools/{school_id}/children")
def list_children(
    school: ManagedSchool,
    session: SessionDep,
    class_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ChildPage:
    rows = service.list_children(session, school.id, class_id=class_id, cursor=cursor, limit=limit)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].enrolled_at, page[-1].id) if len(rows) > limit else None
    return ChildPage(items=[_child_out(c) for c in page], next_cursor=next_cursor)


@router.get("/children/{child_id}")
def get_child(child: ViewableChild) -> ChildPublic:
    return _child_out(child)


@router.patch("/children/{child_id}")
def update_child(body: ChildUpdate, child: ManagedChild, session: SessionDep) -> ChildPublic:
    return _child_out(service.update_child(session, child, body.model_dump(exclude_unset=True)))


@router.post("/children/{child_id}/pin")
def reset_pin(
    body: PinReset,
    child: ManagedChild,
    principal: CurrentPrincipal,
    session: SessionDep,
    passwords: PasswordsDep,
) -> ChildPublic:
    return _child_out(service.reset_pin(session, passwords, child, body.pin, principal.id))


@router.post("/schools/{school_id}/devices", status_code=status.HTTP_201_CREATED)
def register_device(
    body: DeviceCreate,
    school: ManagedSchool,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> DeviceRegistered:
    device, token = auth.register_device(session, settings.auth, school.id, body.name, principal.id)
    return DeviceRegistered(**DevicePublic.model_validate(device).model_dump(), device_token=token)


@router.post("/schools/{school_id}/devices/{device_id}/credential")
def rotate_device_credential(
    device_id: uuid.UUID, school: ManagedSchool, session: SessionDep, settings: SettingsDep
) -> DeviceRegistered:
    """A new credential for the device (shown once); the old one stops working at once."""
    device = service.get_device(session, school.id, device_id)
    device, token = auth.rotate_device_credential(session, settings.auth, device)
    return DeviceRegistered(**DevicePublic.model_validate(device).model_dump(), device_token=token)


@router.get("/schools/{school_id}/devices")
def list_devices(school: ManagedSchool, session: SessionDep) -> list[DevicePublic]:
    return [DevicePublic.model_validate(d) for d in service.list_devices(session, school.id)]


@router.delete("/schools/{school_id}/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_device(device_id: uuid.UUID, school: ManagedSchool, session: SessionDep) -> None:
    auth.revoke_device(session, service.get_device(session, school.id, device_id))


@router.get("/device/roster")
def device_roster(device: CurrentDevice, session: SessionDep) -> Roster:
    school = service.get_school(session, device.school_id)
    return Roster(
        school_id=school.id,
        school_name=school.name,
        classes=[
            RosterClass(
                id=c.id,
                name=c.name,
                children=[
                    RosterChild(
                        id=ch.id, given_name=ch.given_name, family_initial=ch.family_name[:1]
                    )
                    for ch in kids
                ],
            )
            for c, kids in service.roster(session, school.id)
        ],
    )


@router.get("/device/listening-hours")
def device_listening_hours(device: CurrentDevice, session: SessionDep) -> ListeningHoursStatus:
    """Whether this device's school is in its listening hours, and when that changes."""
    school = service.get_school(session, device.school_id)
    now = listening.status(school.listening_hours, school.timezone, clock.now())
    return ListeningHoursStatus(
        open=now.open,
        timezone=school.timezone,
        ends_at=now.ends_at,
        next_start=now.next_start,
        windows=[ListeningWindow.model_validate(w) for w in school.listening_hours],
    )
