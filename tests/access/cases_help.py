"""Cases for help requests, cases and psychologists: a case is invisible to outsiders (404)."""

from __future__ import annotations

from typing import Any

from tests.access.harness import ROLES, Case, Req, World, register
from tests.help.helpers import ask, assigned_case, offer_to, psychologist
from tests.help.voice import record_request, voice_message
from voicebridge.accounts.models import User
from voicebridge.help import escalation, oversight, service
from voicebridge.help.models import Category, EscalationLevel, PsychologistProfile

EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
OUTSIDERS = {
    "own_guardian",
    "other_guardian",
    "school_staff",
    "other_school_staff",
    "psychologist",
    "moderator",
    "admin",
}


def hidden(*but: str) -> dict[str, int]:
    """Guardians, teachers, other psychologists, moderators and admins: 404 for a case."""
    return dict.fromkeys(OUTSIDERS - set(but), 404)


def _case_with_other(w: World) -> None:
    request, psych = assigned_case(w.factory, w.child_a, text="我想家")
    w.extras["request"], w.extras["assigned"] = request, psych


def _case_with_w(w: World) -> None:
    request, _ = assigned_case(w.factory, w.child_a, w.psychologist, text="我想家")
    w.extras["request"] = request


def _recorded_case_with_w(w: World) -> None:
    """A voice-only request, assigned to w.psychologist, with a voice message from them."""
    request, _ = assigned_case(w.factory, w.child_a, w.psychologist, text=None)
    child = w.session.get(User, w.child_a.id)
    assert child is not None
    record_request(w.session, w.store, child, request)
    w.extras["request"] = request
    w.extras["message"] = voice_message(w.session, w.store, w.psychologist, request)


def _offered_to_w(w: World) -> None:
    psychologist(w.factory, user=w.psychologist)
    w.extras["request"] = ask(w.session, w.settings, w.child_a)
    offer_to(w.factory, w.extras["request"], w.psychologist)


def _supervisor_w(w: World) -> None:
    psychologist(w.factory, user=w.psychologist, supervisor=True, on_duty=False)
    _case_with_other(w)


def _referral(w: World) -> None:
    _supervisor_w(w)
    w.extras["referral"] = oversight.request_referral(
        w.session, w.extras["request"], w.extras["assigned"], agency="110", reason="in danger now"
    )


def _held(w: World) -> None:
    _supervisor_w(w)
    w.extras["message"] = service.post_message(
        w.session,
        w.settings.help,
        w.extras["request"],
        w.extras["assigned"],
        text="加我微信 wang_laoshi1",
    )


def _escalated(w: World) -> None:
    request = ask(w.session, w.settings, w.child_a, category=Category.bullying)
    escalation.escalate(w.session, request, EscalationLevel.safeguarding, "test")
    w.extras["request"] = request


def _profile(w: World) -> None:
    psychologist(w.factory, user=w.psychologist, on_duty=False)


def _pending_profile(w: World) -> None:
    _profile(w)
    profile = w.session.get(PsychologistProfile, w.psychologist.id)
    assert profile is not None
    w.extras["profile"] = profile


def _not_listing(w: World, role: str, response: Any) -> None:
    if role not in {"child", "school_staff"}:
        assert str(w.extras["request"].id) not in response.text, f"{role} saw the request"


def _url(path: str) -> Any:
    def build(w: World) -> Req:
        return Req(url=path.format(**{k: getattr(v, "id", v) for k, v in w.extras.items()}))

    return build


def _body(path: str, body: Any) -> Any:
    def build(w: World) -> Req:
        req: Req = _url(path)(w)
        req.json = body
        return req

    return build


R = "/api/v1/help/requests/{request_id}"
U = "/api/v1/help/requests/{request}"


def _holder_only(method: str, suffix: str, build: Any, setup: Any) -> Case:
    """A route on one case that only the psychologist holding it reaches; a child gets 403."""
    return Case(
        method,
        R + suffix,
        build,
        {"psychologist"},
        setup=setup,
        expect={**hidden("psychologist"), "child": 403},
    )


register(Case("GET", "/api/v1/help/options", lambda w: Req(url="/api/v1/help/options"), SIGNED_IN))
register(
    Case(
        "POST",
        "/api/v1/help/requests",
        lambda w: Req(url="/api/v1/help/requests", json={"category": "lonely", "text": "想家"}),
        {"child"},
    )
)
register(
    Case(
        "GET",
        "/api/v1/help/requests",
        lambda w: Req(url="/api/v1/help/requests"),
        {"child", "psychologist"},
        setup=_case_with_other,
        check=_not_listing,
    )
)
register(Case("GET", R, _url(U), {"child"}, setup=_case_with_other, expect=hidden()))
register(
    Case(
        "POST",
        R + "/accept",
        _url(U + "/accept"),
        {"psychologist"},
        setup=_offered_to_w,
        expect=hidden("psychologist"),
    )
)
register(
    Case(
        "POST",
        R + "/decline",
        _url(U + "/decline"),
        {"psychologist"},
        setup=_offered_to_w,
        expect=hidden("psychologist"),
    )
)
register(
    Case(
        "GET",
        R + "/messages",
        _url(U + "/messages"),
        {"child"},
        setup=_case_with_other,
        expect=hidden(),
    )
)
register(
    Case(
        "POST",
        R + "/messages",
        _body(U + "/messages", {"text": "谢谢老师"}),
        {"child"},
        setup=_case_with_other,
        expect=hidden(),
    )
)
register(_holder_only("PUT", "/urgency", _body(U + "/urgency", {"urgency": "high"}), _case_with_w))
register(
    _holder_only("POST", "/close", _body(U + "/close", {"outcome_notes": "talked"}), _case_with_w)
)
register(
    _holder_only(
        "POST",
        "/referrals",
        _body(U + "/referrals", {"agency": "county hospital", "reason": "needs a doctor"}),
        _case_with_w,
    )
)
register(_holder_only("GET", "/referrals", _url(U + "/referrals"), _case_with_w))
register(
    _holder_only(
        "POST",
        "/referrals/{referral_id}/decision",
        _body(U + "/referrals/{referral}/decision", {"approve": True, "reason": "life at risk"}),
        _referral,
    )
)
register(
    Case(
        "GET",
        "/api/v1/help/review/messages",
        _url("/api/v1/help/review/messages"),
        {"psychologist"},
        setup=_held,
    )
)
register(
    Case(
        "POST",
        "/api/v1/help/review/messages/{message_id}",
        _body("/api/v1/help/review/messages/{message}", {"release": False}),
        {"psychologist"},
        setup=_held,
    )
)
register(
    Case(
        "GET",
        "/api/v1/help/escalations",
        _url("/api/v1/help/escalations"),
        {"school_staff", "other_school_staff"},
        setup=_escalated,
        check=_not_listing,
    )
)
register(Case("GET", "/api/v1/help/alerts", _url("/api/v1/help/alerts"), SIGNED_IN))
register(
    Case(
        "GET",
        "/api/v1/help/figures",
        _url("/api/v1/help/figures"),
        {"psychologist"},
        setup=_supervisor_w,
    )
)
register(
    Case(
        "PUT",
        "/api/v1/psychologists/me/application",
        lambda w: Req(
            url="/api/v1/psychologists/me/application",
            json={
                "credentials": "Licensed, 8 years with children",
                "languages": ["cmn", "sichuanese"],
                "capacity": 3,
            },
        ),
        {"psychologist"},
    )
)
register(
    Case(
        "GET",
        "/api/v1/psychologists/me",
        _url("/api/v1/psychologists/me"),
        {"psychologist"},
        setup=_profile,
    )
)
register(
    Case(
        "PATCH",
        "/api/v1/psychologists/me",
        _body("/api/v1/psychologists/me", {"capacity": 4}),
        {"psychologist"},
        setup=_profile,
    )
)
register(
    Case(
        "PUT",
        "/api/v1/psychologists/me/duty",
        _body("/api/v1/psychologists/me/duty", {"on_duty": True}),
        {"psychologist"},
        setup=_profile,
    )
)
register(
    Case(
        "GET",
        "/api/v1/psychologists/me/queue",
        _url("/api/v1/psychologists/me/queue"),
        {"psychologist"},
        setup=_profile,
    )
)
register(
    Case("GET", "/api/v1/psychologists", _url("/api/v1/psychologists"), {"moderator", "admin"})
)
register(
    Case(
        "POST",
        "/api/v1/psychologists/{user_id}/verification",
        lambda w: Req(
            url=f"/api/v1/psychologists/{w.psychologist.id}/verification",
            json={"decision": "verified"},
        ),
        {"moderator", "admin"},
        setup=_pending_profile,
    )
)

# Recordings: the assigned psychologist, supervisors, the school after T2; 404 for the rest.
register(
    Case(
        "GET",
        R + "/audio",
        _url(U + "/audio"),
        {"psychologist"},
        setup=_recorded_case_with_w,
        expect={**hidden("psychologist"), "child": 404},
        note="the child's own recording is for the adults helping; the child gets 404",
    )
)
register(
    Case(
        "GET",
        R + "/messages/{message_id}/audio",
        _url(U + "/messages/{message}/audio"),
        {"child", "psychologist"},
        setup=_recorded_case_with_w,
        expect=hidden("psychologist"),
    )
)
register(_holder_only("GET", "/urgency", _url(U + "/urgency"), _case_with_w))
register(_holder_only("POST", "/hand-back", _url(U + "/hand-back"), _case_with_w))
register(
    Case(
        "POST",
        R + "/reassign",
        _body(U + "/reassign", {}),
        {"psychologist"},
        setup=_supervisor_w,
        expect={**hidden("psychologist"), "child": 403},
        note="w.psychologist is a supervisor here; {} sends the case back to the queue",
    )
)
register(
    Case(
        "GET",
        "/api/v1/help/access-log",
        _url("/api/v1/help/access-log"),
        {"psychologist", "admin"},
        setup=_supervisor_w,
    )
)


def _earlier_case_with_w(w: World) -> None:
    """child_a asked before; w.psychologist held and closed it, and holds the new one."""
    earlier, _ = assigned_case(w.factory, w.child_a, w.psychologist, text="又想家了")
    service.close_case(
        w.session,
        earlier,
        outcome_notes="talked about home",
        risk_assessment={"thoughts": False, "plan": False, "means": False, "timeframe": ""},
        safety_plan="calls home on Sundays",
        follow_up_on=None,
    )
    _case_with_w(w)
    w.extras["earlier"] = earlier


def _lists_earlier(w: World, role: str, response: Any) -> None:
    assert [c["id"] for c in response.json()] == [str(w.extras["earlier"].id)]
    assert "又想家了" not in response.text, "the child's words stay behind the case's routes"


def _lists_referral(w: World, role: str, response: Any) -> None:
    assert [r["id"] for r in response.json()] == [str(w.extras["referral"].id)]
    assert w.child_a.given_name not in response.text, "identity only once approved"


register(
    Case(
        "GET",
        "/api/v1/help/referrals",
        _url("/api/v1/help/referrals"),
        {"psychologist"},
        setup=_referral,
        check=_lists_referral,
        note="w.psychologist is a supervisor here; everyone else is refused",
    )
)
register(
    Case(
        "GET",
        R + "/earlier",
        _url(U + "/earlier"),
        {"psychologist"},
        setup=_earlier_case_with_w,
        expect={**hidden("psychologist"), "child": 403},
        check=_lists_earlier,
    )
)
