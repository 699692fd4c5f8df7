"""HTTP for help requests, cases and volunteer psychologists."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status

import voicebridge.help.purposes  # noqa: F401 - registers the help upload purposes
from voicebridge.accounts.models import Role, User
from voicebridge.auth import policy
from voicebridge.auth.deps import ChildPrincipal, CurrentPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden
from voicebridge.help import oversight, profiles, routing, service, triage
from voicebridge.help.deps import (
    ManagedCase,
    ModeratorPrincipal,
    OwnProfile,
    PsychologistPrincipal,
    ReadableCase,
    SupervisorPrincipal,
    ViewableRequest,
)
from voicebridge.help.models import (
    Category,
    HelpRequest,
    PsychologistProfile,
    Urgency,
    Verification,
)
from voicebridge.help.schemas import (
    AlertPublic,
    Application,
    CaseClose,
    Duty,
    EscalationPublic,
    Language,
    MessageCreate,
    MessagePublic,
    Options,
    ProfilePublic,
    ProfileUpdate,
    QueueItem,
    ReferralCreate,
    ReferralDecision,
    ReferralPublic,
    RequestCreate,
    RequestCreated,
    RequestPublic,
    Review,
    UrgencyChange,
    VerificationDecision,
)
from voicebridge.openapi import problems
from voicebridge.schools.models import Child

router = APIRouter(tags=["help"])


def _out(session: SessionDep, request: HelpRequest, *, identity: bool = False) -> RequestPublic:
    """The child's name only for those who must act on it: the school and supervisors."""
    name = None
    if identity:
        child = session.get(Child, request.child_id)
        name = f"{child.family_name}{child.given_name}" if child else None
    return RequestPublic(
        id=request.id,
        category=request.category,
        not_safe=request.not_safe,
        urgency=request.urgency,
        state=request.state,
        language=request.language,
        text=request.text,
        audio_asset_id=request.audio_asset_id,
        created_at=request.created_at,
        assigned_at=request.assigned_at,
        psychologist_id=request.psychologist_id,
        closed_at=request.closed_at,
        child_name=name,
        school_id=request.school_id if identity else None,
    )


def _profile_out(profile: PsychologistProfile, user: User | None = None) -> ProfilePublic:
    out = ProfilePublic.model_validate(profile)
    out.display_name = user.display_name if user else None
    return out


@router.get("/help/options")
def options(_: CurrentPrincipal, settings: SettingsDep) -> Options:
    data = triage.load(settings.help)
    return Options(
        categories=list(Category),
        languages=[Language(code=c, name=n) for c, n in data.language_names.items()],
        crisis_resources=list(data.crisis_resources),
    )


@router.post("/help/requests", status_code=status.HTTP_201_CREATED, responses=problems(429))
def create_request(
    body: RequestCreate, principal: ChildPrincipal, session: SessionDep, settings: SettingsDep
) -> RequestCreated:
    child = service.enrolled_child(session, principal.id)
    request, nobody = service.create_request(
        session,
        settings.help,
        child,
        category=body.category,
        not_safe=body.not_safe,
        text=body.text,
        language=body.language,
        hourly_limit=settings.limits.help_requests_per_child_hour,
    )
    show = nobody or request.urgency is Urgency.critical
    return RequestCreated(
        request=_out(session, request),
        nobody_on_duty=nobody,
        crisis_resources=service.crisis_resources(settings.help) if show else [],
    )


@router.get("/help/requests")
def list_requests(principal: CurrentPrincipal, session: SessionDep) -> list[RequestPublic]:
    """Scoped: a child their own, a psychologist their cases, a supervisor every open one."""
    user = principal.user
    if user.role is Role.child:
        rows = service.requests_of_child(session, user.id)
    elif policy.is_supervisor(session, user):
        rows = service.all_open(session)
    elif user.role is Role.psychologist:
        rows = service.cases_of(session, user.id)
    else:
        raise Forbidden("Help requests are private to the child and their psychologist")
    return [_out(session, r) for r in rows]


@router.get("/help/requests/{request_id}")
def get_request(
    request: ViewableRequest, principal: CurrentPrincipal, session: SessionDep
) -> RequestPublic:
    service.log_access(session, request.id, principal.id, "read_request")
    identity = principal.role is Role.staff or policy.is_supervisor(session, principal.user)
    return _out(session, request, identity=identity)


@router.post("/help/requests/{request_id}/accept")
def accept(
    request: ViewableRequest,
    principal: PsychologistPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> RequestPublic:
    return _out(session, routing.accept(session, settings.help, request, principal.user))


@router.post("/help/requests/{request_id}/decline", status_code=status.HTTP_204_NO_CONTENT)
def decline(
    request: ViewableRequest,
    principal: PsychologistPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    routing.decline(session, settings.help, request, principal.user)


@router.get("/help/requests/{request_id}/messages")
def messages(
    request: ReadableCase, principal: CurrentPrincipal, session: SessionDep
) -> list[MessagePublic]:
    rows = service.messages_for(
        session, request, principal.user, child_view=principal.role is Role.child
    )
    return [MessagePublic.model_validate(m) for m in rows]


@router.post("/help/requests/{request_id}/messages", status_code=status.HTTP_201_CREATED)
def post_message(
    body: MessageCreate,
    request: ReadableCase,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> MessagePublic:
    if not policy.can_message_in_case(session, principal.user, request):
        raise Forbidden("Only the child and the assigned psychologist talk in a case")
    message = service.post_message(session, settings.help, request, principal.user, text=body.text)
    return MessagePublic.model_validate(message)


@router.put("/help/requests/{request_id}/urgency")
def change_urgency(
    body: UrgencyChange, request: ManagedCase, session: SessionDep, settings: SettingsDep
) -> RequestPublic:
    return _out(session, service.set_urgency(session, settings.help, request, body.urgency))


@router.post("/help/requests/{request_id}/close")
def close(body: CaseClose, request: ManagedCase, session: SessionDep) -> RequestPublic:
    closed = service.close_case(
        session,
        request,
        outcome_notes=body.outcome_notes,
        risk_assessment=body.risk_assessment.model_dump() if body.risk_assessment else None,
        safety_plan=body.safety_plan,
        follow_up_on=body.follow_up_on,
    )
    return _out(session, closed)


@router.post("/help/requests/{request_id}/referrals", status_code=status.HTTP_201_CREATED)
def request_referral(
    body: ReferralCreate, request: ManagedCase, principal: CurrentPrincipal, session: SessionDep
) -> ReferralPublic:
    referral = oversight.request_referral(
        session, request, principal.user, agency=body.agency, reason=body.reason
    )
    return ReferralPublic.model_validate(referral)


@router.get("/help/requests/{request_id}/referrals")
def referrals(request: ManagedCase, session: SessionDep) -> list[ReferralPublic]:
    return [ReferralPublic.model_validate(r) for r in oversight.referrals_of(session, request.id)]


@router.post("/help/requests/{request_id}/referrals/{referral_id}/decision")
def decide_referral(
    referral_id: uuid.UUID,
    body: ReferralDecision,
    request: ReadableCase,
    principal: SupervisorPrincipal,
    session: SessionDep,
) -> ReferralPublic:
    referral, identity = oversight.decide_referral(
        session, request, referral_id, principal.user, approve=body.approve, reason=body.reason
    )
    out = ReferralPublic.model_validate(referral)
    out.identity = identity
    return out


@router.get("/help/review/messages")
def held(_: SupervisorPrincipal, session: SessionDep) -> list[MessagePublic]:
    return [MessagePublic.model_validate(m) for m in service.held_messages(session)]


@router.post("/help/review/messages/{message_id}")
def review(
    message_id: uuid.UUID, body: Review, principal: SupervisorPrincipal, session: SessionDep
) -> MessagePublic:
    message = service.review_message(session, message_id, principal.user, release=body.release)
    return MessagePublic.model_validate(message)


@router.get("/help/escalations")
def escalations(principal: CurrentPrincipal, session: SessionDep) -> list[EscalationPublic]:
    """Supervisors see all; a school's staff see those escalated to their school."""
    if policy.is_supervisor(session, principal.user):
        schools = None
    elif principal.role is Role.staff:
        schools = policy.staff_school_ids(session, principal.user)
    else:
        raise Forbidden("Supervisors and school safeguarding contacts only")
    rows = oversight.escalations(session, schools)
    return [
        EscalationPublic(
            id=e.id,
            request_id=r.id,
            level=e.level.value,
            reason=e.reason,
            created_at=e.created_at,
            urgency=r.urgency,
            request_state=r.state,
            child_id=r.child_id,
            school_id=r.school_id,
        )
        for e, r in rows
        if schools is None or policy.is_safeguarding_contact_for(session, principal.user, r)
    ]


@router.get("/help/alerts")
def alerts(principal: CurrentPrincipal, session: SessionDep) -> list[AlertPublic]:
    return [AlertPublic.model_validate(a) for a in oversight.alerts_for(session, principal.id)]


@router.get("/help/figures")
def figures(_: SupervisorPrincipal, session: SessionDep) -> dict[str, object]:
    return oversight.figures(session)


@router.put("/psychologists/me/application")
def apply(
    body: Application, principal: PsychologistPrincipal, session: SessionDep, settings: SettingsDep
) -> ProfilePublic:
    profile = profiles.apply(
        session,
        settings.help,
        principal.user,
        credentials=body.credentials,
        languages=body.languages,
        specialties=[s.value for s in body.specialties],
        capacity=body.capacity,
        timezone=body.timezone,
        availability=[w.model_dump() for w in body.availability],
    )
    return _profile_out(profile, principal.user)


@router.get("/psychologists/me")
def me(profile: OwnProfile, principal: PsychologistPrincipal) -> ProfilePublic:
    return _profile_out(profile, principal.user)


@router.patch("/psychologists/me")
def update_me(
    body: ProfileUpdate, profile: OwnProfile, session: SessionDep, settings: SettingsDep
) -> ProfilePublic:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "specialties" in changes:
        changes["specialties"] = [str(s) for s in changes["specialties"]]
    return _profile_out(profiles.update(session, settings.help, profile, **changes))


@router.put("/psychologists/me/duty")
def duty(body: Duty, profile: OwnProfile, session: SessionDep) -> ProfilePublic:
    return _profile_out(profiles.set_duty(session, profile, body.on_duty))


@router.get("/psychologists/me/queue")
def queue(profile: OwnProfile, session: SessionDep) -> list[QueueItem]:
    return [
        QueueItem(
            offer_id=o.id, offer_state=o.state, expires_at=o.expires_at, request=_out(session, r)
        )
        for o, r in routing.queue_for(session, profile.user_id)
    ]


@router.get("/psychologists")
def list_psychologists(
    _: ModeratorPrincipal, session: SessionDep, verification: Verification | None = Query(None)
) -> list[ProfilePublic]:
    return [_profile_out(p, u) for p, u in profiles.list_profiles(session, verification)]


@router.post("/psychologists/{user_id}/verification")
def verify(
    user_id: uuid.UUID,
    body: VerificationDecision,
    principal: ModeratorPrincipal,
    session: SessionDep,
) -> ProfilePublic:
    profile = profiles.application_of(session, user_id)
    decided = profiles.decide(
        session,
        principal.user,
        profile,
        verified=body.decision is Verification.verified,
        is_supervisor=body.is_supervisor,
    )
    return _profile_out(decided)
