"""HTTP for help requests, cases and volunteer psychologists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response

import voicebridge.help.purposes  # noqa: F401 - registers the help upload purposes
from voicebridge.accounts.models import Role, User
from voicebridge.audio.playback import audio_response
from voicebridge.auth import policy
from voicebridge.auth.deps import ChildPrincipal, CurrentPrincipal, SettingsDep
from voicebridge.clock import now as clock_now
from voicebridge.config import Settings
from voicebridge.db import SessionDep
from voicebridge.errors import Forbidden, NotFound
from voicebridge.help import duty as duty_service
from voicebridge.help import oversight, profiles, reads, routing, service, triage
from voicebridge.help.deps import (
    HearableCase,
    LogReaderPrincipal,
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
    HelpMessage,
    HelpRequest,
    PsychologistProfile,
    ReferralState,
    RequestState,
    Urgency,
    Verification,
)
from voicebridge.help.schemas import (
    AccessLogEntry,
    AccessLogPage,
    AlertPublic,
    Application,
    CaseClose,
    Duty,
    EarlierCase,
    EscalationPublic,
    Language,
    MessageCreate,
    MessagePublic,
    Options,
    ProfilePublic,
    ProfileUpdate,
    QueueItem,
    Reassign,
    ReferralCreate,
    ReferralDecision,
    ReferralPublic,
    ReferralWaiting,
    RequestCreate,
    RequestCreated,
    RequestPublic,
    Review,
    UrgencyChange,
    UrgencyChangePublic,
    VerificationDecision,
)
from voicebridge.openapi import problems
from voicebridge.pagination import DEFAULT_LIMIT, MAX_LIMIT
from voicebridge.schools.models import Child
from voicebridge.schools.names import full_name
from voicebridge.storage.deps import StoreDep
from voicebridge.transcripts import store as transcript_store
from voicebridge.transcripts.schemas import TranscriptPublic

router = APIRouter(tags=["help"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
AUDIO_RESPONSES: dict[int | str, dict[str, str]] = {
    206: {"description": "Part of the Ogg/Opus recording (local store)"},
    307: {"description": "Redirect to a short-lived presigned URL (S3)"},
    416: {"description": "Range not satisfiable"},
}


def _out(
    session: SessionDep,
    request: HelpRequest,
    *,
    identity: bool = False,
    offer_only: bool = False,
    child_settings: Settings | None = None,
) -> RequestPublic:
    """The child's name only for those who must act on it: the school and supervisors.

    ``offer_only``: the reader holds an offer, not the case; they see what they need
    to decide (urgency, category, language, age, waiting time) and the child's words
    only for a critical request. ``child_settings``: the child's own view, with an
    honest status.
    """
    name = None
    if identity:
        child = session.get(Child, request.child_id)
        name = full_name(child.family_name, child.given_name) if child else None
    hidden = offer_only and request.urgency is not Urgency.critical
    out = RequestPublic(
        id=request.id,
        category=request.category,
        not_safe=request.not_safe,
        urgency=request.urgency,
        state=request.state,
        language=request.language,
        text=None if hidden else request.text,
        audio_asset_id=None if hidden else request.audio_asset_id,
        created_at=request.created_at,
        assigned_at=request.assigned_at,
        psychologist_id=request.psychologist_id,
        closed_at=request.closed_at,
        child_name=name,
        school_id=request.school_id if identity else None,
        peak_urgency=request.peak_urgency,
        voice=request.voice or request.audio_asset_id is not None,
        not_yet_heard=routing.unheard(request),
        words_hidden=hidden,
    )
    if child_settings is not None:
        told = reads.child_status(session, child_settings.help, request)
        out.status, out.status_text, out.expected_by = told.status, told.text, told.expected_by
    else:
        out.child_age = reads.child_age(session, request)
        if not hidden and request.audio_asset_id is not None:
            # The adults on the case: the machine-made transcript next to the recording.
            found = transcript_store.for_assets(session, [request.audio_asset_id])
            out.transcript = TranscriptPublic.of(found.get(request.audio_asset_id))
        if request.state is RequestState.waiting:
            out.waiting_seconds = int(max(0.0, (clock_now() - request.created_at).total_seconds()))
    return out


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
        voice=body.voice,
    )
    show = nobody or request.urgency is Urgency.critical
    return RequestCreated(
        request=_out(session, request, child_settings=settings),
        nobody_on_duty=nobody,
        crisis_resources=service.crisis_resources(settings.help) if show else [],
    )


@router.get("/help/requests")
def list_requests(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> list[RequestPublic]:
    """Scoped: a child their own, a psychologist their cases, a supervisor every open one.

    Each request listed leaves an access-log row for the reader.
    """
    user = principal.user
    if user.role is Role.child:
        rows = service.requests_of_child(session, user.id)
    elif policy.is_supervisor(session, user):
        rows = service.all_open(session)
    elif user.role is Role.psychologist:
        rows = service.cases_of(session, user.id)
    else:
        raise Forbidden("Help requests are private to the child and their psychologist")
    service.log_reads(session, rows, user.id, "list_requests")
    child = settings if user.role is Role.child else None
    return [_out(session, r, child_settings=child) for r in rows]


@router.get("/help/requests/{request_id}")
def get_request(
    request: ViewableRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> RequestPublic:
    service.log_access(session, request.id, principal.id, "read_request")
    user = principal.user
    identity = principal.role is Role.staff or policy.is_supervisor(session, user)
    if policy.is_self(user, request.child_id):
        return _out(session, request, child_settings=settings)
    offer_only = not (
        identity
        or policy.is_assigned_to(session, user, request)
        or policy.is_safeguarding_contact_for(session, user, request)
    )
    return _out(session, request, identity=identity, offer_only=offer_only)


@router.get("/help/requests/{request_id}/audio", response_class=Response, responses=AUDIO_RESPONSES)
def request_audio(
    http: Request,
    request: HearableCase,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The child's recorded request, for the assigned psychologist, supervisors and (after
    T2) the school's safeguarding contact; each play is access-logged."""
    if policy.is_self(principal.user, request.child_id):
        raise NotFound("No such case")
    asset = reads.request_audio(
        session,
        request,
        principal.user,
        new_play=reads.is_play_start(http.headers.get("range")),
    )
    return audio_response(http, store, settings, asset)


@router.get(
    "/help/requests/{request_id}/messages/{message_id}/audio",
    response_class=Response,
    responses=AUDIO_RESPONSES,
)
def message_audio(
    http: Request,
    message_id: uuid.UUID,
    request: HearableCase,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """A voice message in the case; each play is access-logged."""
    asset = reads.message_audio(
        session,
        request,
        message_id,
        principal.user,
        child_view=policy.is_self(principal.user, request.child_id),
        new_play=reads.is_play_start(http.headers.get("range")),
    )
    return audio_response(http, store, settings, asset)


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
    child_view = principal.role is Role.child
    rows = service.messages_for(session, request, principal.user, child_view=child_view)
    return _messages_out(session, rows, transcripts=not child_view)


def _messages_out(
    session: SessionDep, rows: list[HelpMessage], *, transcripts: bool = True
) -> list[MessagePublic]:
    found = transcript_store.for_assets(session, [m.audio_asset_id for m in rows])
    out = []
    for m in rows:
        item = MessagePublic.model_validate(m)
        if transcripts and m.audio_asset_id is not None:
            item.transcript = TranscriptPublic.of(found.get(m.audio_asset_id))
        out.append(item)
    return out


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
    body: UrgencyChange,
    request: ManagedCase,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> RequestPublic:
    """Below what triage found needs a supervisor (403 otherwise) and a reason (422)."""
    changed = service.set_urgency(
        session,
        settings.help,
        request,
        body.urgency,
        by=principal.user,
        supervisor=policy.is_supervisor(session, principal.user),
        reason=body.reason,
    )
    return _out(session, changed)


@router.get("/help/requests/{request_id}/urgency")
def urgency_history(request: ManagedCase, session: SessionDep) -> list[UrgencyChangePublic]:
    """Every change of urgency: who (null = automation), when, why, from, to."""
    return [
        UrgencyChangePublic.model_validate(c) for c in service.urgency_history(session, request.id)
    ]


@router.post("/help/requests/{request_id}/hand-back")
def hand_back(
    request: ManagedCase,
    principal: PsychologistPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> RequestPublic:
    """The assigned psychologist gives the case back to the queue; supervisors are told."""
    return _out(session, duty_service.hand_back(session, settings.help, request, principal.user))


@router.post("/help/requests/{request_id}/reassign")
def reassign(
    body: Reassign,
    request: ReadableCase,
    principal: SupervisorPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> RequestPublic:
    """A supervisor moves the case to another psychologist, or back to the queue."""
    moved = duty_service.reassign(
        session, settings.help, request, principal.user, body.psychologist_id
    )
    return _out(session, moved, identity=True)


@router.get("/help/access-log")
def access_log(
    principal: LogReaderPrincipal,
    session: SessionDep,
    request_id: uuid.UUID | None = None,
    reader_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> AccessLogPage:
    """Who read which case's words, newest first; supervisors and administrators."""
    rows, next_cursor = reads.access_log(
        session,
        request_id=request_id,
        reader_id=reader_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AccessLogPage(
        items=[AccessLogEntry.model_validate(r) for r in rows], next_cursor=next_cursor
    )


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


@router.get("/help/referrals")
def referrals_waiting(
    _: SupervisorPrincipal,
    session: SessionDep,
    state: ReferralState | None = Query(ReferralState.pending),
) -> list[ReferralWaiting]:
    """Supervisors: referrals across every case (by default those waiting for a decision).

    The agency and the psychologist's reason only; the child's identity is shared by
    the decision route, once approved, and logged there."""
    return [
        ReferralWaiting(
            **ReferralPublic.model_validate(r).model_dump(exclude={"identity"}),
            urgency=h.urgency,
            request_state=h.state,
            requested_by_name=name,
        )
        for r, h, name in oversight.referrals_waiting(session, state)
    ]


@router.get("/help/requests/{request_id}/earlier")
def earlier_cases(
    request: ManagedCase, principal: CurrentPrincipal, session: SessionDep
) -> list[EarlierCase]:
    """The child's earlier cases with this case's psychologist, for continuity.

    Only those the reader may read (the psychologist who held them, supervisors); each
    one listed leaves an access-log row, like any list of cases."""
    rows = [
        r
        for r in reads.earlier_cases(session, request)
        if policy.can_read_case(session, principal.user, r)
    ]
    service.log_reads(session, rows, principal.id, "read_earlier_cases")
    return [EarlierCase.model_validate(r) for r in rows]


@router.get("/help/review/messages")
def held(_: SupervisorPrincipal, session: SessionDep) -> list[MessagePublic]:
    return _messages_out(session, service.held_messages(session))


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
def duty(
    body: Duty, profile: OwnProfile, session: SessionDep, settings: SettingsDep
) -> ProfilePublic:
    """Off duty withdraws every pending offer at once and routes it to someone else."""
    return _profile_out(profiles.set_duty(session, profile, body.on_duty, settings.help))


@router.get("/psychologists/me/queue")
def queue(profile: OwnProfile, session: SessionDep) -> list[QueueItem]:
    """Open offers, most urgent first; the child's words only for critical ones. Logged."""
    rows = routing.queue_for(session, profile.user_id)
    service.log_reads(session, [r for _, r in rows], profile.user_id, "read_queue")
    return [
        QueueItem(
            offer_id=o.id,
            offer_state=o.state,
            expires_at=o.expires_at,
            request=_out(session, r, offer_only=True),
        )
        for o, r in rows
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
