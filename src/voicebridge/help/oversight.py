"""What supervisors and safeguarding contacts work with: referrals, escalations, alerts, figures."""

from __future__ import annotations

import statistics
import uuid
from typing import Any

from sqlmodel import Session, col, func, select

from voicebridge import clock
from voicebridge.accounts.models import User
from voicebridge.errors import Conflict, NotFound
from voicebridge.help.models import (
    Escalation,
    HelpAlert,
    HelpRequest,
    PsychologistProfile,
    Referral,
    ReferralState,
    RequestState,
    Urgency,
    Verification,
)
from voicebridge.help.service import log_access
from voicebridge.live import events as live
from voicebridge.privacy import audit
from voicebridge.schools.models import Child, School


def request_referral(
    session: Session, request: HelpRequest, user: User, *, agency: str, reason: str
) -> Referral:
    if request.state is RequestState.closed:
        raise Conflict("The case is closed")
    referral = Referral(request_id=request.id, requested_by=user.id, agency=agency, reason=reason)
    session.add(referral)
    session.flush()
    live.referral_changed(session, referral, request)
    return referral


def decide_referral(
    session: Session,
    request: HelpRequest,
    referral_id: uuid.UUID,
    supervisor: User,
    *,
    approve: bool,
    reason: str,
) -> tuple[Referral, dict[str, Any] | None]:
    """Only an approved referral reveals who and where the child is; the reveal is logged."""
    referral = session.get(Referral, referral_id)
    if referral is None or referral.request_id != request.id:
        raise NotFound("No such referral")
    if referral.state is not ReferralState.pending:
        raise Conflict("This referral was already decided")
    referral.state = ReferralState.approved if approve else ReferralState.rejected
    referral.decided_by = supervisor.id
    referral.decided_at = clock.now()
    referral.decision_reason = reason
    session.add(referral)
    session.flush()
    live.referral_changed(session, referral, request)
    audit.record(
        session,
        supervisor,
        "approve" if approve else "reject",
        "referral",
        referral.id,
        school_id=request.school_id,
        request=str(request.id),
    )
    if not approve:
        return referral, None
    child = session.get(Child, request.child_id)
    school = session.get(School, request.school_id)
    log_access(session, request.id, supervisor.id, "referral_identity_shared")
    audit.record(
        session,
        supervisor,
        "disclose",
        "child",
        request.child_id,
        school_id=request.school_id,
        referral=str(referral.id),
        agency=referral.agency,
    )
    identity = {
        "given_name": child.given_name if child else None,
        "family_name": child.family_name if child else None,
        "birth_year": child.birth_year if child else None,
        "school": school.name if school else None,
        "region": school.region if school else None,
    }
    return referral, identity


def referrals_waiting(
    session: Session, state: ReferralState | None
) -> list[tuple[Referral, HelpRequest, str | None]]:
    """Referrals across every case for supervisors, oldest first: each asks to share a
    child's identity outside, so none should wait behind newer ones. With the request
    (for its urgency) and who asked."""
    stmt = (
        select(Referral, HelpRequest, User.display_name)
        .join(HelpRequest, col(HelpRequest.id) == col(Referral.request_id))
        .join(User, col(User.id) == col(Referral.requested_by))
    )
    if state is not None:
        stmt = stmt.where(Referral.state == state)
    return [
        (r, h, n) for r, h, n in session.exec(stmt.order_by(col(Referral.created_at)).limit(200))
    ]


def referrals_of(session: Session, request_id: uuid.UUID) -> list[Referral]:
    return list(
        session.exec(
            select(Referral)
            .where(Referral.request_id == request_id)
            .order_by(col(Referral.created_at))
        ).all()
    )


def escalations(
    session: Session, school_ids: list[uuid.UUID] | None
) -> list[tuple[Escalation, HelpRequest]]:
    """All of them for supervisors; a safeguarding contact only their schools' school-level ones."""
    stmt = select(Escalation, HelpRequest).join(
        HelpRequest, col(HelpRequest.id) == col(Escalation.request_id)
    )
    if school_ids is not None:
        stmt = stmt.where(
            col(HelpRequest.school_id).in_(school_ids), Escalation.level == "safeguarding"
        )
    return [(e, r) for e, r in session.exec(stmt.order_by(col(Escalation.created_at).desc()))]


def alerts_for(session: Session, user_id: uuid.UUID) -> list[HelpAlert]:
    return list(
        session.exec(
            select(HelpAlert)
            .where(HelpAlert.recipient_id == user_id)
            .order_by(col(HelpAlert.created_at).desc())
            .limit(200)
        ).all()
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def figures(session: Session) -> dict[str, Any]:
    """Time to first response (seconds) per urgency, queue length, escalations, load."""
    rows = session.exec(
        select(HelpRequest.urgency, HelpRequest.created_at, HelpRequest.first_response_at).where(
            col(HelpRequest.first_response_at).is_not(None)
        )
    ).all()
    by_urgency: dict[str, list[float]] = {u.value: [] for u in Urgency}
    for urgency, created, responded in rows:
        if responded is not None:
            by_urgency[Urgency(urgency).value].append((responded - created).total_seconds())
    response = {
        u: (
            {"count": len(v), "median": statistics.median(v), "p90": _percentile(v, 0.9)}
            if v
            else {"count": 0, "median": None, "p90": None}
        )
        for u, v in by_urgency.items()
    }
    queue = dict(
        session.exec(
            select(HelpRequest.urgency, func.count())
            .where(HelpRequest.state == RequestState.waiting)
            .group_by(col(HelpRequest.urgency))
        ).all()
    )
    escalated = dict(
        session.exec(select(Escalation.level, func.count()).group_by(col(Escalation.level))).all()
    )
    load = [
        {
            "psychologist_id": str(p.user_id),
            "display_name": name,
            "open_cases": p.open_cases,
            "capacity": p.capacity,
            "on_duty": p.on_duty,
        }
        for p, name in session.exec(
            select(PsychologistProfile, User.display_name)
            .join(User, col(User.id) == col(PsychologistProfile.user_id))
            .where(PsychologistProfile.verification == Verification.verified)
        )
    ]
    return {
        "first_response_seconds": response,
        "queue": {u.value: int(queue.get(u, 0)) for u in Urgency},
        "escalations": {str(k): int(v) for k, v in escalated.items()},
        "load": load,
    }
