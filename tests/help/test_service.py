from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from tests.factories import Factory
from tests.help.helpers import ask, assigned_case, psychologist
from voicebridge import clock
from voicebridge.accounts.models import Role
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.errors import Conflict, InvalidInput
from voicebridge.help import escalation, routing, service
from voicebridge.help.models import (
    Category,
    Escalation,
    EscalationLevel,
    HelpAlert,
    HelpMessage,
    MessageState,
    Offer,
    OfferState,
    RequestState,
    Urgency,
)
from voicebridge.jobs.models import Job, JobState
from voicebridge.schools.models import StaffRole
from voicebridge.uploads.purposes import PURPOSES


@pytest.fixture
def child(factory: Factory):  # type: ignore[no-untyped-def]
    school = factory.school()
    factory.staff(school, StaffRole.admin, safeguarding=True)
    return factory.child(school)


def test_best_match_gets_the_offer_and_language_counts(
    session: Session, factory: Factory, child
) -> None:
    cantonese, _ = psychologist(factory, name="Yue", languages=["yue"])
    mandarin, _ = psychologist(factory, name="Cmn", languages=["cmn"])
    request = ask(session, factory.settings, child, language="yue")
    offers = session.exec(select(Offer).where(Offer.request_id == request.id)).all()
    assert [o.psychologist_id for o in offers] == [cantonese.id]
    # A Sichuanese-speaking child falls back to Mandarin speakers.
    other = ask(session, factory.settings, child, language="sichuanese")
    offers = session.exec(select(Offer).where(Offer.request_id == other.id)).all()
    assert [o.psychologist_id for o in offers] == [mandarin.id]


def test_continuity_prefers_the_childs_earlier_psychologist(
    session: Session, factory: Factory, child
) -> None:
    first, _ = psychologist(factory, name="First")
    earlier, _ = assigned_case(factory, child, first)
    psychologist(factory, name="Second")
    later = ask(session, factory.settings, child)
    offer = session.exec(select(Offer).where(Offer.request_id == later.id)).one()
    assert offer.psychologist_id == first.id


def test_critical_goes_to_everyone_on_duty_and_supervisors_are_alerted(
    session: Session, factory: Factory, child
) -> None:
    users = [psychologist(factory, name=f"P{i}", capacity=1)[0] for i in range(3)]
    boss, _ = psychologist(factory, name="Boss", supervisor=True)
    off, _ = psychologist(factory, name="Off", on_duty=False)
    request = ask(session, factory.settings, child, text="我不想活了")
    assert request.urgency is Urgency.critical
    offered = {o.psychologist_id for o in session.exec(select(Offer)).all()}
    assert offered == {*(u.id for u in users), boss.id}
    assert off.id not in offered
    alerts = session.exec(select(HelpAlert).where(HelpAlert.request_id == request.id)).all()
    assert {(a.recipient_id, a.kind) for a in alerts} == {(boss.id, "critical_request")}
    # First to accept takes it; the others' offers are withdrawn, the rest are refused.
    routing.accept(session, factory.settings.help, request, users[1])
    with pytest.raises(Conflict):
        routing.accept(session, factory.settings.help, request, users[0])
    states = {o.psychologist_id: o.state for o in session.exec(select(Offer)).all()}
    assert states[users[1].id] is OfferState.accepted
    assert states[users[0].id] is OfferState.withdrawn


def test_capacity_is_never_exceeded(session: Session, factory: Factory, child) -> None:
    psych, profile = psychologist(factory, capacity=1)
    assigned_case(factory, child, psych)
    second = ask(session, factory.settings, child, text="我想死")  # critical: offered even if full
    with pytest.raises(Conflict):
        routing.accept(session, factory.settings.help, second, psych)
    session.refresh(profile)
    assert profile.open_cases == 1
    normal = ask(session, factory.settings, child)
    assert session.exec(select(Offer).where(Offer.request_id == normal.id)).all() == []


def test_critical_must_be_taken_before_lower_urgency(
    session: Session, factory: Factory, child
) -> None:
    psych, _ = psychologist(factory, capacity=3)
    normal = ask(session, factory.settings, child)
    critical = ask(session, factory.settings, child, not_safe=True)
    queue = [r.id for _, r in routing.queue_for(session, psych.id)]
    assert queue == [critical.id, normal.id]
    with pytest.raises(Conflict):
        routing.accept(session, factory.settings.help, normal, psych)
    routing.accept(session, factory.settings.help, critical, psych)
    routing.accept(session, factory.settings.help, normal, psych)


def test_nobody_on_duty_escalates_at_once(session: Session, factory: Factory, child) -> None:
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    request, nobody = service.create_request(
        session,
        factory.settings.help,
        child,
        category=Category.bullying,
        not_safe=False,
        text=None,
        language="cmn",
    )
    assert nobody
    assert request.urgency is Urgency.high
    levels = {
        e.level for e in session.exec(select(Escalation).where(Escalation.request_id == request.id))
    }
    assert levels == {EscalationLevel.supervisors, EscalationLevel.safeguarding}
    recipients = {a.recipient_id for a in session.exec(select(HelpAlert)).all()}
    assert boss.id in recipients
    assert len(recipients) == 2


def test_timers_are_jobs_and_cancelled_on_accept(session: Session, factory: Factory, child) -> None:
    psych, _ = psychologist(factory)
    request = ask(session, factory.settings, child, category=Category.bullying, text="他们打我")
    keys = {j.dedupe_key: j.run_at for j in session.exec(select(Job)).all() if j.dedupe_key}
    t1 = keys[routing.escalation_key(request.id, EscalationLevel.supervisors)]
    assert (t1 - request.created_at).total_seconds() == factory.settings.help.t1_seconds["high"]
    routing.accept(session, factory.settings.help, request, psych)
    pending = session.exec(
        select(Job).where(Job.kind == routing.ESCALATE, Job.state == JobState.queued)
    ).all()
    assert pending == []


def test_later_message_with_risk_words_raises_urgency(
    session: Session, factory: Factory, child
) -> None:
    request, psych = assigned_case(factory, child)
    child_user = session.get(type(psych), child.id)
    assert child_user is not None
    psychologist(factory, name="Boss", supervisor=True)
    service.post_message(session, factory.settings.help, request, child_user, text="我想跳楼")
    assert request.urgency is Urgency.critical
    assert escalation.supervisors(session)
    assert session.exec(select(Escalation).where(Escalation.request_id == request.id)).first()


def test_contact_details_are_held(session: Session, factory: Factory, child) -> None:
    request, psych = assigned_case(factory, child)
    held = service.post_message(
        session, factory.settings.help, request, psych, text="加我微信 wang_laoshi1"
    )
    assert held.state is MessageState.held_for_review
    assert held in service.held_messages(session)
    assert request.first_response_at is None
    ok = service.post_message(session, factory.settings.help, request, psych, text="你好,我在听")
    assert ok.state is MessageState.visible
    assert request.first_response_at == ok.created_at


def test_closing_high_case_needs_risk_assessment(session: Session, factory: Factory, child) -> None:
    request, _ = assigned_case(factory, child, category=Category.bullying, text=None)
    with pytest.raises(InvalidInput):
        service.close_case(
            session,
            request,
            outcome_notes="ok",
            risk_assessment=None,
            safety_plan="plan",
            follow_up_on=None,
        )
    assessment = {"thoughts": False, "plan": False, "means": False, "timeframe": "none"}
    with pytest.raises(InvalidInput):
        service.close_case(
            session,
            request,
            outcome_notes="ok",
            risk_assessment=assessment,
            safety_plan=None,
            follow_up_on=None,
        )
    assert request.state is RequestState.assigned
    service.close_case(
        session,
        request,
        outcome_notes="ok",
        risk_assessment=assessment,
        safety_plan="Talk to teacher Li every evening",
        follow_up_on=None,
    )
    assert request.state is RequestState.closed


def test_upload_hooks_attach_recordings(session: Session, factory: Factory, child) -> None:
    request, psych = assigned_case(factory, child)
    child_user = session.get(type(psych), child.id)
    assert child_user is not None
    purpose = PURPOSES["help_request"]
    purpose.authorize(session, child_user, {"request_id": str(request.id)})
    asset = AudioAsset(owner_id=child.id, purpose="help_request")
    session.add(asset)
    session.flush()
    purpose.on_created(session, child_user, asset, {"request_id": str(request.id)})
    assert request.audio_asset_id == asset.id
    with pytest.raises(Conflict):
        purpose.authorize(session, child_user, {"request_id": str(request.id)})

    voice = PURPOSES["help_message"]
    reply = AudioAsset(owner_id=psych.id, purpose="help_message")
    session.add(reply)
    session.flush()
    voice.on_created(session, psych, reply, {"case_id": str(request.id)})
    message = session.exec(select(HelpMessage).where(HelpMessage.audio_asset_id == reply.id)).one()
    assert message.state is MessageState.processing
    reply.state, reply.ready_at = AssetState.ready, clock.now()
    voice.on_ready(session, reply)
    assert message.state is MessageState.visible
    assert request.first_response_at == reply.ready_at
    outsider = factory.user(Role.psychologist, "Outsider")
    with pytest.raises(Exception, match="No such case"):
        voice.authorize(session, outsider, {"case_id": str(request.id)})


def test_availability_windows_use_the_psychologists_zone() -> None:
    from voicebridge.help.models import PsychologistProfile

    p = PsychologistProfile(
        user_id=__import__("uuid").uuid4(),
        credentials="x",
        timezone="Europe/Berlin",
        availability=[{"weekday": 0, "start": "18:00", "end": "20:00"}],
    )
    # Monday 17:30 UTC is 18:30 in Berlin (winter time).
    assert routing.is_available(p, datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    assert not routing.is_available(p, datetime(2026, 11, 30, 19, 30, tzinfo=UTC))
