"""Issue 9: recordings heard, duty that is real, fair offers, urgency history, alerts, reads."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from tests.factories import Factory
from tests.fixtures.database import create_scratch_database, drop_scratch_database
from tests.help.helpers import ask, assigned_case, offer_to, psychologist
from tests.help.voice import record_request, voice_message
from tests.messages.helpers import opus_recording
from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.config import Settings
from voicebridge.db import make_engine
from voicebridge.help import duty, routing, service
from voicebridge.help.models import (
    CaseAccessLog,
    Category,
    Escalation,
    EscalationLevel,
    HelpAlert,
    HelpRequest,
    Offer,
    OfferState,
    PsychologistProfile,
    Urgency,
    UrgencyChange,
)
from voicebridge.jobs.models import Job, JobState
from voicebridge.migrate import upgrade
from voicebridge.schools.models import Child, StaffRole

API = "/api/v1"


@pytest.fixture
def child(factory: Factory) -> Child:
    school = factory.school()
    factory.staff(school, StaffRole.admin, safeguarding=True, name="Safeguarding")
    return factory.child(school)


def _user(session: Session, child: Child) -> User:
    user = session.get(User, child.id)
    assert user is not None
    return user


def _plays(session: Session, request_id: uuid.UUID, user_id: uuid.UUID, action: str) -> int:
    return len(
        session.exec(
            select(CaseAccessLog).where(
                CaseAccessLog.request_id == request_id,
                CaseAccessLog.user_id == user_id,
                CaseAccessLog.action == action,
            )
        ).all()
    )


# 1. Spoken requests are heard.


def test_a_recorded_request_plays_for_its_psychologist_and_supervisors_only(
    client: TestClient, app: FastAPI, session: Session, factory: Factory, child: Child
) -> None:
    store = app.state.store
    psych, _ = psychologist(factory, name="Assigned")
    supervisor, _ = psychologist(factory, name="Supervisor", supervisor=True, on_duty=False)
    request, _ = assigned_case(factory, child, psych, text=None)
    request.voice = True
    record_request(session, store, _user(session, child), request)
    assert routing.unheard(request)
    message = voice_message(session, store, _user(session, child), request)
    expected = opus_recording().data
    url = f"{API}/help/requests/{request.id}/audio"
    h = factory.headers(psych)
    listed = client.get(f"{API}/help/requests", headers=h).json()
    assert [r["not_yet_heard"] for r in listed] == [True]

    for who in (psych, supervisor):
        r = client.get(url, headers=factory.headers(who), follow_redirects=False)
        assert r.status_code == 200, r.text
        assert r.content == expected
        assert r.headers["content-type"] == "audio/ogg"
        assert _plays(session, request.id, who.id, "play_request_audio") == 1
    # Seeking inside the same play is not a new play; starting again is.
    part = client.get(url, headers={**h, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == expected[100:200]
    assert _plays(session, request.id, psych.id, "play_request_audio") == 1
    assert client.get(url, headers={**h, "Range": "bytes=0-"}).status_code == 206
    assert _plays(session, request.id, psych.id, "play_request_audio") == 2
    session.refresh(request)
    assert request.heard_at is not None
    assert not routing.unheard(request)
    listed = client.get(f"{API}/help/requests", headers=h).json()
    assert [r["not_yet_heard"] for r in listed] == [False]

    # The voice messages of the case play through the same path, logged too.
    murl = f"{API}/help/requests/{request.id}/messages/{message.id}/audio"
    assert client.get(murl, headers=h).content == expected
    assert _plays(session, request.id, psych.id, "play_message_audio") == 1

    school = session.get(type(factory.school()), child.school_id)
    assert school is not None
    others = [
        _user(session, child),
        factory.guardian_of(child)[0],
        factory.staff(school, StaffRole.teacher, name="Teacher"),
        psychologist(factory, name="Other")[0],
        factory.user(Role.moderator, "Mod"),
        factory.user(Role.admin, "Admin"),
    ]
    for other in others:
        r = client.get(url, headers=factory.headers(other), follow_redirects=False)
        assert r.status_code == 404, (other.role, r.status_code)
        assert _plays(session, request.id, other.id, "play_request_audio") == 0


def test_the_safeguarding_contact_hears_the_recording_after_t2(
    client: TestClient, app: FastAPI, session: Session, factory: Factory, child: Child
) -> None:
    psychologist(factory)
    request = ask(session, factory.settings, child, text=None)
    record_request(session, app.state.store, _user(session, child), request)
    contact = session.exec(select(User).where(User.display_name == "Safeguarding")).one()
    url = f"{API}/help/requests/{request.id}/audio"
    assert client.get(url, headers=factory.headers(contact)).status_code == 404
    from voicebridge.help import escalation

    escalation.escalate(session, request, EscalationLevel.safeguarding, "T2")
    assert client.get(url, headers=factory.headers(contact)).status_code == 200
    assert _plays(session, request.id, contact.id, "play_request_audio") == 1


def test_an_unheard_recording_is_never_ranked_below_typed_words_with_the_same_choices(
    session: Session, factory: Factory, child: Child
) -> None:
    psych, _ = psychologist(factory, capacity=5)
    typed = ask(session, factory.settings, child, text="想家")
    spoken = ask(session, factory.settings, child, text=None)
    spoken.voice = True
    assert typed.urgency is spoken.urgency
    assert typed.created_at <= spoken.created_at
    assert routing.waiting_requests(session)[0].id == spoken.id
    offer_to(factory, typed, psych)
    offer_to(factory, spoken, psych)
    assert [r.id for _, r in routing.queue_for(session, psych.id)] == [spoken.id, typed.id]


def test_a_transcript_goes_through_the_same_triage_and_only_raises(
    session: Session, factory: Factory, child: Child
) -> None:
    spoken = ask(session, factory.settings, child, text=None)
    assert spoken.urgency.value == "normal"
    assert service.apply_transcript(session, factory.settings.help, spoken, "我不想活了") is (
        Urgency.critical
    )
    assert spoken.urgency.value == "critical"
    assert spoken.transcript == "我不想活了"
    assert service.apply_transcript(session, factory.settings.help, spoken, "随便聊聊") is None
    assert spoken.urgency is Urgency.critical
    history = service.urgency_history(session, spoken.id)
    assert [(c.from_urgency, c.to_urgency, c.changed_by) for c in history] == [
        (None, Urgency.normal, None),
        (Urgency.normal, Urgency.critical, None),
    ]


# 3. Duty is real.


def test_going_off_duty_withdraws_offers_and_reroutes_at_once(
    client: TestClient, session: Session, factory: Factory, child: Child
) -> None:
    leaving, _ = psychologist(factory, name="Leaving", capacity=3)
    request = ask(session, factory.settings, child)
    offer = session.exec(select(Offer).where(Offer.request_id == request.id)).one()
    assert offer.psychologist_id == leaving.id
    staying, _ = psychologist(factory, name="Staying", capacity=3)
    r = client.put(
        f"{API}/psychologists/me/duty", json={"on_duty": False}, headers=factory.headers(leaving)
    )
    assert r.status_code == 200
    session.refresh(offer)
    assert offer.state is OfferState.withdrawn
    now_open = session.exec(
        select(Offer).where(Offer.request_id == request.id, Offer.state == OfferState.open)
    ).one()
    assert now_open.psychologist_id == staying.id
    # Withdrawn and re-offered in the same transaction: well within a second.
    assert offer.decided_at is not None
    assert timedelta(0) <= now_open.offered_at - offer.decided_at <= timedelta(seconds=1)
    # The one who left can no longer take it.
    r = client.post(f"{API}/help/requests/{request.id}/accept", headers=factory.headers(leaving))
    assert r.status_code in (404, 409)
    # The last one leaving: nobody is left, the supervisors hear of it.
    r = client.put(
        f"{API}/psychologists/me/duty", json={"on_duty": False}, headers=factory.headers(staying)
    )
    assert r.status_code == 200
    assert session.exec(
        select(Escalation).where(
            Escalation.request_id == request.id, Escalation.level == EscalationLevel.supervisors
        )
    ).first()


def test_an_availability_window_closing_counts_as_going_off_duty(
    session: Session, factory: Factory, child: Child
) -> None:
    leaving, profile = psychologist(factory, name="Window")
    request = ask(session, factory.settings, child)
    staying, _ = psychologist(factory, name="Always")
    here = clock.now().astimezone(ZoneInfo(profile.timezone))
    # A window that closed an hour ago, today.
    profile.availability = [
        {"weekday": here.weekday(), "start": "00:00", "end": f"{max(here.hour - 1, 0):02d}:00"}
    ]
    if here.hour < 2:
        profile.availability = [
            {"weekday": (here.weekday() + 1) % 7, "start": "00:00", "end": "01:00"}
        ]
    session.add(profile)
    session.flush()
    assert duty.withdraw_absent(session, factory.settings.help) == 1
    offers = session.exec(select(Offer).where(Offer.request_id == request.id)).all()
    assert {(o.psychologist_id, o.state) for o in offers} == {
        (leaving.id, OfferState.withdrawn),
        (staying.id, OfferState.open),
    }


def test_a_childs_message_on_an_off_duty_case_alerts_supervisors_who_reassign(
    client: TestClient, session: Session, factory: Factory, child: Child
) -> None:
    supervisor, _ = psychologist(factory, name="Supervisor", supervisor=True, on_duty=False)
    away, _ = psychologist(factory, name="Away")
    request, _ = assigned_case(factory, child, away)
    r = client.put(
        f"{API}/psychologists/me/duty", json={"on_duty": False}, headers=factory.headers(away)
    )
    assert r.status_code == 200
    session.refresh(request)
    assert request.psychologist_id == away.id  # the case stays for continuity
    child_h = factory.headers(_user(session, child))
    for _ in range(2):
        r = client.post(
            f"{API}/help/requests/{request.id}/messages", json={"text": "你在吗"}, headers=child_h
        )
        assert r.status_code == 201
    alerts = session.exec(
        select(HelpAlert).where(
            HelpAlert.request_id == request.id, HelpAlert.kind == service.OFF_DUTY_ALERT
        )
    ).all()
    assert [a.recipient_id for a in alerts] == [supervisor.id]  # once while unread
    other, _ = psychologist(factory, name="Other", capacity=2)
    url = f"{API}/help/requests/{request.id}/reassign"
    r = client.post(url, json={"psychologist_id": str(other.id)}, headers=factory.headers(away))
    assert r.status_code == 403  # the psychologist still reads the case; moving it is not theirs
    r = client.post(
        url, json={"psychologist_id": str(other.id)}, headers=factory.headers(supervisor)
    )
    assert r.status_code == 200, r.text
    assert r.json()["psychologist_id"] == str(other.id)
    assert session.get(PsychologistProfile, away.id).open_cases == 0  # type: ignore[union-attr]
    assert session.get(PsychologistProfile, other.id).open_cases == 1  # type: ignore[union-attr]
    assert (
        client.get(
            f"{API}/help/requests/{request.id}/messages", headers=factory.headers(away)
        ).status_code
        == 404
    )
    # The new psychologist hands it back: it waits again, offered to someone else first.
    r = client.post(f"{API}/help/requests/{request.id}/hand-back", headers=factory.headers(other))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "waiting"
    assert session.get(PsychologistProfile, other.id).open_cases == 0  # type: ignore[union-attr]
    kinds = {a.kind for a in session.exec(select(HelpAlert)).all()}
    assert {"case_handed_back", "case_reassigned_to_you"} <= kinds


# 4. Fair offers.


def test_pending_offers_count_against_free_places_and_spread_to_more_room(
    session: Session, factory: Factory, child: Child
) -> None:
    small, _ = psychologist(factory, name="Small", capacity=1)
    large, _ = psychologist(factory, name="Large", capacity=3)
    made = [ask(session, factory.settings, child) for _ in range(5)]
    holders = [
        session.exec(select(Offer.psychologist_id).where(Offer.request_id == r.id)).first()
        for r in made
    ]
    # Equal matches: the one with more free room first; nobody beyond capacity.
    assert holders[0] == large.id
    assert holders.count(small.id) == 1
    assert holders.count(large.id) == 3
    assert holders[4] is None


@pytest.fixture
def scratch_engine(postgres_admin_url: str) -> Iterator[Engine]:
    url, name = create_scratch_database(postgres_admin_url)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_scratch_database(postgres_admin_url, name)


def test_concurrent_arrivals_never_exceed_free_places(
    scratch_engine: Engine, settings: Settings
) -> None:
    engine = scratch_engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the race needs concurrent transactions")
    with Session(engine, expire_on_commit=False) as s:
        factory = Factory(s, settings)
        school = factory.school()
        children = [factory.child(school, name=f"K{i}") for i in range(12)]
        psychs = [psychologist(factory, name=f"P{i}", capacity=2)[0] for i in range(2)]
        s.commit()
    barrier = threading.Barrier(len(children))
    errors: list[BaseException] = []

    def arrive(kid: Child) -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                row = s.get(Child, kid.id)
                assert row is not None
                barrier.wait()
                service.create_request(
                    s,
                    settings.help,
                    row,
                    category=Category.lonely,
                    not_safe=False,
                    text="想家",
                    language="cmn",
                )
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=arrive, args=(k,)) for k in children]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with Session(engine) as s:
        held = dict(
            s.exec(
                select(Offer.psychologist_id, func.count())
                .where(Offer.state == OfferState.open)
                .group_by(col(Offer.psychologist_id))
            ).all()
        )
        assert len(s.exec(select(HelpRequest)).all()) == 12
    assert held == {p.id: 2 for p in psychs}


# 5. Urgency has a history.


def test_lowering_below_triage_needs_a_supervisor_and_closing_follows_the_highest(
    client: TestClient, session: Session, factory: Factory, child: Child
) -> None:
    supervisor, _ = psychologist(factory, name="Supervisor", supervisor=True, on_duty=False)
    psych, _ = psychologist(factory, name="Assigned")
    request, _ = assigned_case(factory, child, psych, text="我不想活了")
    assert request.urgency is Urgency.critical
    url = f"{API}/help/requests/{request.id}/urgency"
    h = factory.headers(psych)
    r = client.put(url, json={"urgency": "low", "reason": "misread"}, headers=h)
    assert r.status_code == 403
    sh = factory.headers(supervisor)
    assert client.put(url, json={"urgency": "low"}, headers=sh).status_code == 422
    r = client.put(
        url, json={"urgency": "low", "reason": "a song lyric, talked it over"}, headers=sh
    )
    assert r.status_code == 200
    assert r.json()["urgency"] == "low"
    assert r.json()["peak_urgency"] == "critical"
    # The psychologist may move it within what triage found (here: nothing below critical).
    r = client.post(
        f"{API}/help/requests/{request.id}/close", json={"outcome_notes": "ok"}, headers=h
    )
    assert r.status_code == 422  # still needs the assessment a critical case needs
    history = client.get(url, headers=h).json()
    assert [(c["from_urgency"], c["to_urgency"]) for c in history] == [
        (None, "critical"),
        ("critical", "low"),
    ]
    assert history[0]["changed_by"] is None
    assert history[1]["changed_by"] == str(supervisor.id)
    assert history[1]["reason"] == "a song lyric, talked it over"
    # Raising is anyone's on the case; lowering back to triage's level too.
    normal = ask(session, factory.settings, child, text="想家")
    offer_to(factory, normal, psych)
    routing.accept(session, factory.settings.help, normal, psych)
    nurl = f"{API}/help/requests/{normal.id}/urgency"
    assert client.put(nurl, json={"urgency": "high"}, headers=h).status_code == 200
    assert client.put(nurl, json={"urgency": "normal"}, headers=h).status_code == 200
    assert client.put(nurl, json={"urgency": "low"}, headers=h).status_code == 403
    assert (
        len(session.exec(select(UrgencyChange).where(UrgencyChange.request_id == normal.id)).all())
        == 3
    )


# 6. Critical means everyone at once; normal and low have their own T1.


def test_a_critical_request_alerts_an_off_duty_supervisor_at_once(
    session: Session, factory: Factory, child: Child
) -> None:
    supervisor, _ = psychologist(factory, name="Asleep", supervisor=True, on_duty=False)
    on_duty_sup, _ = psychologist(factory, name="Awake", supervisor=True)
    request = ask(session, factory.settings, child, not_safe=True)
    alerted = {
        a.recipient_id
        for a in session.exec(
            select(HelpAlert).where(
                HelpAlert.request_id == request.id, HelpAlert.kind == "critical_request"
            )
        ).all()
    }
    assert {supervisor.id, on_duty_sup.id} <= alerted


def test_a_critical_request_with_nobody_on_duty_reaches_the_school_at_once(
    session: Session, factory: Factory, child: Child
) -> None:
    psychologist(factory, name="Asleep", supervisor=True, on_duty=False)
    request = ask(session, factory.settings, child, not_safe=True)
    levels = {
        e.level for e in session.exec(select(Escalation).where(Escalation.request_id == request.id))
    }
    assert levels == {EscalationLevel.supervisors, EscalationLevel.safeguarding}
    contact = session.exec(select(User).where(User.display_name == "Safeguarding")).one()
    assert session.exec(
        select(HelpAlert).where(
            HelpAlert.request_id == request.id, HelpAlert.recipient_id == contact.id
        )
    ).first()


@pytest.mark.parametrize(("urgency_text", "seconds"), [("normal", 1800), ("low", 14400)])
def test_normal_and_low_requests_have_their_own_t1(
    session: Session, factory: Factory, child: Child, urgency_text: str, seconds: int
) -> None:
    psychologist(factory)
    request = ask(session, factory.settings, child, text="想家")
    if urgency_text == "low":
        request = ask(session, factory.settings, child, text="随便聊聊", category=Category.other)
        service.record_urgency(session, request, Urgency.low, by=None, reason="test")
        from voicebridge.help import escalation

        escalation.schedule(session, factory.settings.help, request)
    assert request.urgency.value == urgency_text
    job = session.exec(
        select(Job).where(
            Job.dedupe_key == routing.escalation_key(request.id, EscalationLevel.supervisors),
            Job.state == JobState.queued,
        )
    ).one()
    assert job.run_at == request.created_at + timedelta(seconds=seconds)


def test_the_child_sees_an_honest_status(
    client: TestClient, session: Session, factory: Factory, child: Child
) -> None:
    h = factory.headers(_user(session, child))
    r = client.post(f"{API}/help/requests", json={"category": "lonely", "text": "想家"}, headers=h)
    body = r.json()["request"]
    assert body["status"] == "nobody_on_duty"
    assert body["expected_by"] is None
    psych, _ = psychologist(factory)
    r = client.get(f"{API}/help/requests/{body['id']}", headers=h).json()
    assert r["status"] == "waiting"
    assert r["status_text"] == "Waiting for someone to listen"
    assert r["expected_by"] is not None
    request = session.get(HelpRequest, uuid.UUID(body["id"]))
    assert request is not None
    offer_to(factory, request, psych)
    routing.accept(session, factory.settings.help, request, psych)
    r = client.get(f"{API}/help/requests", headers=h).json()
    assert r[0]["status"] == "listening"
    assert r[0]["status_text"] == "Someone is listening"


# 7. Every read of a child's words is logged; offers hide them until accepted.


def test_list_and_queue_reads_are_logged_and_offers_hide_words_until_accepted(
    client: TestClient, session: Session, factory: Factory, child: Child
) -> None:
    supervisor, _ = psychologist(factory, name="Supervisor", supervisor=True, on_duty=False)
    psych, _ = psychologist(factory, name="Volunteer", capacity=3)
    calm = ask(session, factory.settings, child, text="想家")
    danger = ask(session, factory.settings, child, text="我不想活了")
    h = factory.headers(psych)
    queue = client.get(f"{API}/psychologists/me/queue", headers=h).json()
    shown = {item["request"]["id"]: item["request"] for item in queue}
    assert shown[str(danger.id)]["text"] == "我不想活了"
    assert shown[str(calm.id)]["text"] is None
    assert shown[str(calm.id)]["words_hidden"] is True
    assert shown[str(calm.id)]["child_age"] is not None
    assert shown[str(calm.id)]["waiting_seconds"] >= 0
    r = client.get(f"{API}/help/requests/{calm.id}", headers=h).json()
    assert r["text"] is None
    for request in (calm, danger):
        assert _plays(session, request.id, psych.id, "read_queue") == 1
    routing.accept(session, factory.settings.help, danger, psych)
    assert client.get(f"{API}/help/requests/{danger.id}", headers=h).json()["text"]
    client.get(f"{API}/help/requests", headers=h)
    assert _plays(session, danger.id, psych.id, "list_requests") == 1
    client.get(f"{API}/help/requests", headers=factory.headers(supervisor))
    assert _plays(session, calm.id, supervisor.id, "list_requests") == 1

    # The access log itself: supervisors and admins, filtered, paged.
    sh = factory.headers(supervisor)
    log = f"{API}/help/access-log"
    r = client.get(log, params={"request_id": str(calm.id), "limit": 1}, headers=sh)
    assert r.status_code == 200
    first = r.json()
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    seen = [first["items"][0]["id"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(
            log, params={"request_id": str(calm.id), "limit": 1, "cursor": cursor}, headers=sh
        ).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    rows = session.exec(select(CaseAccessLog).where(CaseAccessLog.request_id == calm.id)).all()
    assert sorted(seen) == sorted(str(x.id) for x in rows)
    by_reader = client.get(log, params={"reader_id": str(psych.id)}, headers=sh).json()["items"]
    assert by_reader
    assert {i["user_id"] for i in by_reader} == {str(psych.id)}
    later = (clock.now() + timedelta(hours=1)).isoformat()
    assert client.get(log, params={"since": later}, headers=sh).json()["items"] == []
    admin = factory.headers(factory.user(Role.admin, "Admin"))
    assert client.get(log, headers=admin).status_code == 200
    assert client.get(log, headers=h).status_code == 403
    assert client.get(log, params={"cursor": "nonsense"}, headers=sh).status_code == 422
    naive = clock.now().replace(tzinfo=None).isoformat()
    assert client.get(log, params={"until": naive}, headers=sh).status_code == 200
    absurd = "0001-01-01T00:00:00+05:00"
    assert client.get(log, params={"since": absurd}, headers=sh).status_code == 422


def _unused(*_: Any) -> None:
    """Keeps imports that only some databases use."""
