from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import Factory
from tests.help.helpers import assigned_case, psychologist
from voicebridge.accounts.models import Role, User
from voicebridge.help import escalation
from voicebridge.help.models import CaseAccessLog, Category, EscalationLevel, HelpRequest
from voicebridge.schools.models import StaffRole


def _child_headers(factory: Factory, child_id: object) -> dict[str, str]:
    user = factory.session.get(User, child_id)
    assert user is not None
    return factory.headers(user)


def test_volunteer_applies_is_verified_and_goes_on_duty(
    client: TestClient, factory: Factory
) -> None:
    psych = factory.user(Role.psychologist, "Dr Liu")
    h = factory.headers(psych)
    factory.session.commit()
    body = {
        "credentials": "Licensed child psychologist, Chengdu",
        "languages": ["cmn", "sichuanese"],
        "capacity": 2,
        "timezone": "Asia/Shanghai",
        "availability": [{"weekday": 0, "start": "18:00", "end": "22:00"}],
    }
    assert (
        client.put("/api/v1/psychologists/me/application", json=body, headers=h).status_code == 200
    )
    assert (
        client.put("/api/v1/psychologists/me/duty", json={"on_duty": True}, headers=h).status_code
        == 409
    )
    bad = {**body, "languages": ["klingon"]}
    assert (
        client.put("/api/v1/psychologists/me/application", json=bad, headers=h).status_code == 422
    )
    mod = factory.headers(factory.user(Role.moderator))
    pending = client.get("/api/v1/psychologists?verification=pending", headers=mod).json()
    assert [p["user_id"] for p in pending] == [str(psych.id)]
    r = client.post(
        f"/api/v1/psychologists/{psych.id}/verification",
        json={"decision": "verified"},
        headers=mod,
    )
    assert r.json()["verification"] == "verified"
    r = client.put("/api/v1/psychologists/me/duty", json={"on_duty": True}, headers=h)
    assert r.json()["on_duty"] is True


def test_nobody_on_duty_shows_crisis_resources(
    client: TestClient, factory: Factory, session: Session
) -> None:
    school = factory.school()
    child = factory.child(school)
    session.commit()
    r = client.post(
        "/api/v1/help/requests",
        json={"category": "lonely", "text": "想妈妈"},
        headers=_child_headers(factory, child.id),
    )
    assert r.status_code == 201
    body = r.json()
    assert body["nobody_on_duty"] is True
    assert {"12356", "12355", "110", "120"} <= {c["phone"] for c in body["crisis_resources"]}
    r = client.post(
        "/api/v1/help/requests",
        json={"category": "lonely"},
        headers=_child_headers(factory, child.id),
    )
    assert r.status_code == 422


def test_contact_details_are_held_for_a_supervisor(
    client: TestClient, factory: Factory, session: Session
) -> None:
    school = factory.school()
    child = factory.child(school)
    request, psych = assigned_case(factory, child)
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    h = factory.headers(psych)
    session.commit()
    url = f"/api/v1/help/requests/{request.id}/messages"
    for text in ("我的电话 138 1234 5678", "加我微信 wxid_teacher8"):
        r = client.post(url, json={"text": text}, headers=h)
        assert r.json()["state"] == "held_for_review"
    client.post(url, json={"text": "你好,我是王老师"}, headers=h)
    seen = client.get(url, headers=_child_headers(factory, child.id)).json()
    assert [m["text"] for m in seen] == ["你好,我是王老师"]
    held = client.get("/api/v1/help/review/messages", headers=factory.headers(boss)).json()
    assert len(held) == 2
    assert client.get("/api/v1/help/review/messages", headers=h).status_code == 403
    r = client.post(
        f"/api/v1/help/review/messages/{held[0]['id']}",
        json={"release": False},
        headers=factory.headers(boss),
    )
    assert r.json()["state"] == "rejected"


def test_closing_high_case_without_risk_assessment_is_refused(
    client: TestClient, factory: Factory, session: Session
) -> None:
    child = factory.child(factory.school())
    request, psych = assigned_case(factory, child, category=Category.bullying, text=None)
    session.commit()  # the refused request rolls back only its own work
    url = f"/api/v1/help/requests/{request.id}/close"
    r = client.post(url, json={"outcome_notes": "talked"}, headers=factory.headers(psych))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    session.refresh(request)
    assert request.state.value == "assigned"
    body = {
        "outcome_notes": "talked",
        "risk_assessment": {"thoughts": False, "plan": False, "means": False, "timeframe": "-"},
        "safety_plan": "Tell teacher Zhang when they start again",
        "follow_up_on": "2099-01-01",
    }
    assert client.post(url, json=body, headers=factory.headers(psych)).status_code == 200


def test_confidentiality_and_access_log(
    client: TestClient, factory: Factory, session: Session
) -> None:
    school = factory.school()
    contact = factory.staff(school, StaffRole.counsellor, safeguarding=True)
    child, other_child = factory.child(school), factory.child(school, name="Hong")
    guardian, _ = factory.guardian_of(child)
    request, psych = assigned_case(factory, child)
    session.commit()
    url = f"/api/v1/help/requests/{request.id}"
    for outsider in (other_child.id,):
        assert client.get(url, headers=_child_headers(factory, outsider)).status_code == 404
    assert client.get(url, headers=factory.headers(guardian)).status_code == 404
    assert client.get(url, headers=factory.headers(contact)).status_code == 404
    assert client.get(url, headers=factory.headers(psych)).status_code == 200
    # Escalated to the school: the safeguarding contact sees the request, not the conversation.
    escalation.escalate(session, request, EscalationLevel.safeguarding, "test")
    r = client.get(url, headers=factory.headers(contact))
    assert r.status_code == 200
    assert r.json()["child_name"]
    assert client.get(url + "/messages", headers=factory.headers(contact)).status_code == 404
    reads = session.exec(select(CaseAccessLog).where(CaseAccessLog.request_id == request.id)).all()
    assert {(a.user_id, a.action) for a in reads} == {
        (psych.id, "read_request"),
        (contact.id, "read_request"),
    }


def test_referral_needs_a_supervisor_and_is_logged(
    client: TestClient, factory: Factory, session: Session
) -> None:
    child = factory.child(factory.school())
    request, psych = assigned_case(factory, child, not_safe=True)
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    session.commit()
    base = f"/api/v1/help/requests/{request.id}/referrals"
    r = client.post(
        base,
        json={"agency": "110", "reason": "says they are in danger tonight"},
        headers=factory.headers(psych),
    )
    assert r.status_code == 201
    assert r.json()["identity"] is None
    decision = {"approve": True, "reason": "immediate danger to life"}
    url = f"{base}/{r.json()['id']}/decision"
    assert client.post(url, json=decision, headers=factory.headers(psych)).status_code == 403
    r = client.post(url, json=decision, headers=factory.headers(boss))
    assert r.json()["identity"]["given_name"] == child.given_name
    logged = session.exec(
        select(CaseAccessLog).where(CaseAccessLog.action == "referral_identity_shared")
    ).all()
    assert [a.user_id for a in logged] == [boss.id]
    assert client.post(url, json=decision, headers=factory.headers(boss)).status_code == 409


def test_queue_and_figures(client: TestClient, factory: Factory, session: Session) -> None:
    psych, _ = psychologist(factory, capacity=3)
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    child = factory.child(factory.school())
    h = _child_headers(factory, child.id)
    session.commit()
    before = client.get("/api/v1/help/figures", headers=factory.headers(boss)).json()
    client.post("/api/v1/help/requests", json={"category": "lonely", "text": "想家"}, headers=h)
    r = client.post(
        "/api/v1/help/requests", json={"category": "lonely", "not_safe": True}, headers=h
    )
    assert r.json()["crisis_resources"]
    queue = client.get("/api/v1/psychologists/me/queue", headers=factory.headers(psych)).json()
    assert [q["request"]["urgency"] for q in queue] == ["critical", "normal"]
    normal_id = queue[1]["request"]["id"]
    r = client.post(f"/api/v1/help/requests/{normal_id}/accept", headers=factory.headers(psych))
    assert r.status_code == 409
    critical_id = queue[0]["request"]["id"]
    r = client.post(f"/api/v1/help/requests/{critical_id}/accept", headers=factory.headers(psych))
    assert r.json()["state"] == "assigned"
    client.post(
        f"/api/v1/help/requests/{critical_id}/messages",
        json={"text": "我在"},
        headers=factory.headers(psych),
    )
    figures = client.get("/api/v1/help/figures", headers=factory.headers(boss)).json()
    answered = figures["first_response_seconds"]["critical"]["count"]
    assert answered == before["first_response_seconds"]["critical"]["count"] + 1
    assert figures["queue"]["normal"] == before["queue"]["normal"] + 1
    taken = session.get(HelpRequest, uuid.UUID(critical_id))
    assert taken is not None
    assert taken.psychologist_id == psych.id


def test_struck_off_psychologist_loses_the_case_and_the_child_is_requeued(
    client: TestClient, factory: Factory, session: Session
) -> None:
    child = factory.child(factory.school())
    request, psych = assigned_case(factory, child)
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    moderator = factory.user(Role.moderator)
    session.commit()
    url = f"/api/v1/help/requests/{request.id}"
    assert client.get(url, headers=factory.headers(psych)).status_code == 200
    # Re-applying while holding a case is refused: the child would lose their psychologist.
    again = client.put(
        "/api/v1/psychologists/me/application",
        json={
            "credentials": "new certificate",
            "languages": ["cmn"],
            "specialties": [],
            "capacity": 3,
            "timezone": "Asia/Shanghai",
            "availability": [],
        },
        headers=factory.headers(psych),
    )
    assert again.status_code == 409, again.text
    decided = client.post(
        f"/api/v1/psychologists/{psych.id}/verification",
        json={"decision": "rejected"},
        headers=factory.headers(moderator),
    )
    assert decided.status_code == 200, decided.text
    assert client.get(url, headers=factory.headers(psych)).status_code == 404
    sent = client.post(
        url + "/messages", json={"text": "still here"}, headers=factory.headers(psych)
    )
    assert sent.status_code == 404
    session.refresh(request)
    assert request.state.value == "waiting"
    assert request.psychologist_id is None
    alerts = client.get("/api/v1/help/alerts", headers=factory.headers(boss)).json()
    assert any(a["request_id"] == str(request.id) for a in alerts)
