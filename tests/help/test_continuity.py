"""Continuity (a child's earlier cases with the same psychologist) and the supervisors'
list of referrals, through the HTTP API on both stores."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.factories import Factory
from tests.help.helpers import assigned_case, psychologist
from voicebridge.help import service
from voicebridge.help.models import CaseAccessLog, HelpRequest

NO_RISK = {"thoughts": False, "plan": False, "means": False, "timeframe": "none"}


def _close(session: Session, request: HelpRequest, notes: str) -> None:
    service.close_case(
        session,
        request,
        outcome_notes=notes,
        risk_assessment=NO_RISK,
        safety_plan="talk to the class teacher",
        follow_up_on=None,
    )


def test_earlier_cases_are_the_childs_with_the_same_psychologist_only(
    client: TestClient, factory: Factory, session: Session
) -> None:
    school = factory.school()
    child, other_child = factory.child(school), factory.child(school, name="Other")
    psych, _ = psychologist(factory, capacity=5)
    someone_else, _ = psychologist(factory, name="Dr Other", capacity=5)
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    with_psych, _ = assigned_case(factory, child, psych, text="我想家")
    _close(session, with_psych, "homesick after the holidays; calls home on Sundays")
    with_other, _ = assigned_case(factory, child, someone_else, text="有人欺负我")
    _close(session, with_other, "bullying, school told")
    assigned_case(factory, other_child, psych, text="睡不着")
    now, _ = assigned_case(factory, child, psych, text="又想家了")
    session.commit()
    url = f"/api/v1/help/requests/{now.id}/earlier"

    answer = client.get(url, headers=factory.headers(psych))
    assert answer.status_code == 200
    [earlier] = answer.json()
    assert earlier["id"] == str(with_psych.id)
    assert earlier["outcome_notes"].startswith("homesick")
    assert "我想家" not in answer.text  # the child's words stay behind the case's routes
    logged = session.exec(
        select(CaseAccessLog.request_id).where(
            CaseAccessLog.action == "read_earlier_cases", CaseAccessLog.user_id == psych.id
        )
    ).all()
    assert logged == [with_psych.id]

    # A supervisor sees the same continuity; the other psychologist cannot open the case.
    assert [c["id"] for c in client.get(url, headers=factory.headers(boss)).json()] == [
        str(with_psych.id)
    ]
    assert client.get(url, headers=factory.headers(someone_else)).status_code == 404


def test_supervisors_list_referrals_waiting_until_decided(
    client: TestClient, factory: Factory, session: Session
) -> None:
    child = factory.child(factory.school())
    request, psych = assigned_case(factory, child, not_safe=True)
    boss, _ = psychologist(factory, name="Boss", supervisor=True, on_duty=False)
    session.commit()
    asked = client.post(
        f"/api/v1/help/requests/{request.id}/referrals",
        json={"agency": "县医院", "reason": "needs a doctor tonight"},
        headers=factory.headers(psych),
    ).json()
    assert client.get("/api/v1/help/referrals", headers=factory.headers(psych)).status_code == 403

    [waiting] = client.get("/api/v1/help/referrals", headers=factory.headers(boss)).json()
    assert waiting["id"] == asked["id"]
    assert waiting["urgency"] == "critical"
    assert waiting["requested_by_name"] == psych.display_name
    assert waiting["identity"] is None
    assert child.given_name not in str(waiting)

    client.post(
        f"/api/v1/help/requests/{request.id}/referrals/{asked['id']}/decision",
        json={"approve": False, "reason": "the school can act first"},
        headers=factory.headers(boss),
    )
    assert client.get("/api/v1/help/referrals", headers=factory.headers(boss)).json() == []
    decided = client.get(
        "/api/v1/help/referrals", params={"state": "rejected"}, headers=factory.headers(boss)
    ).json()
    assert [(r["id"], r["decision_reason"]) for r in decided] == [
        (asked["id"], "the school can act first")
    ]
