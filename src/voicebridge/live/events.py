"""Who hears what, live: the one-line calls other domains make inside their transactions.

Each function picks the recipients and the ids; ``service.publish`` writes them
and delivers on commit. Nothing here carries words (a message's text, a
request's category, a child's name): a client that hears ``case.message``
fetches the case through the API, where the access policy and the access log
decide what it may see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlmodel import Session, col, select

from voicebridge.accounts.models import Role, User
from voicebridge.audio.models import AudioAsset
from voicebridge.help.models import (
    Escalation,
    HelpAlert,
    HelpMessage,
    HelpRequest,
    MessageState,
    Offer,
    PsychologistProfile,
    Referral,
    Verification,
)
from voicebridge.live.service import publish
from voicebridge.notifications.models import Notification
from voicebridge.stories.models import Story


def supervisors(session: Session) -> list[uuid.UUID]:
    """Every verified supervisor, on duty or not: their live queue is their screen."""
    return list(
        session.exec(
            select(PsychologistProfile.user_id).where(
                PsychologistProfile.verification == Verification.verified,
                col(PsychologistProfile.is_supervisor).is_(True),
            )
        )
    )


def moderators(session: Session) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(User.id).where(
                col(User.role).in_([Role.moderator, Role.admin]), col(User.disabled_at).is_(None)
            )
        )
    )


def queue_changed(session: Session, request: HelpRequest) -> None:
    publish(session, supervisors(session), "help.queue", request_id=request.id)


def offers_made(session: Session, offers: Iterable[Offer], request: HelpRequest) -> None:
    for offer in offers:
        publish(
            session,
            [offer.psychologist_id],
            "offer.new",
            offer_id=offer.id,
            request_id=request.id,
            urgency=request.urgency.value,
        )


def offer_closed(session: Session, offer: Offer) -> None:
    """Withdrawn (someone else took it), expired or declined: it leaves the queue."""
    publish(
        session,
        [offer.psychologist_id],
        "offer.withdrawn",
        offer_id=offer.id,
        request_id=offer.request_id,
        state=offer.state.value,
    )


def case_message(session: Session, message: HelpMessage, request: HelpRequest) -> None:
    """The other side hears of a visible message; a held one goes to the supervisors."""
    ids = {"request_id": request.id, "message_id": message.id}
    if message.state is MessageState.held_for_review:
        publish(session, supervisors(session), "help.held", **ids)
        publish(session, [message.sender_id], "case.message", **ids)
        return
    people = [message.sender_id, request.child_id]
    if request.psychologist_id is not None:
        people.append(request.psychologist_id)
    if message.state is not MessageState.visible:
        # Still processing (a recording): only its sender sees it yet.
        people = [message.sender_id]
    publish(session, people, "case.message", **ids)


def message_reviewed(session: Session, message: HelpMessage, request: HelpRequest) -> None:
    publish(session, supervisors(session), "help.held", **_ids(request, message))
    people = [message.sender_id]
    if message.state is MessageState.visible:
        people.append(request.child_id)
    publish(session, people, "case.message", **_ids(request, message))


def _ids(request: HelpRequest, message: HelpMessage) -> dict[str, uuid.UUID]:
    return {"request_id": request.id, "message_id": message.id}


def alerted(session: Session, alert: HelpAlert) -> None:
    publish(
        session,
        [alert.recipient_id],
        "help.alert",
        alert_id=alert.id,
        request_id=alert.request_id,
        alert=alert.kind,
    )


def escalated(session: Session, escalation: Escalation, request: HelpRequest) -> None:
    publish(
        session,
        supervisors(session),
        "help.escalation",
        escalation_id=escalation.id,
        request_id=request.id,
        level=escalation.level.value,
    )


def referral_changed(session: Session, referral: Referral, request: HelpRequest) -> None:
    """Asked for or decided: the supervisors who decide and the case's psychologist."""
    people = supervisors(session)
    if request.psychologist_id is not None:
        people.append(request.psychologist_id)
    publish(
        session,
        people,
        "help.referral",
        referral_id=referral.id,
        request_id=request.id,
        state=referral.state.value,
    )


def case_changed(session: Session, request: HelpRequest) -> None:
    """Assigned, urgency moved, closed: the case's adults and the supervisors' queue."""
    people = supervisors(session)
    if request.psychologist_id is not None:
        people.append(request.psychologist_id)
    publish(session, people, "case.changed", request_id=request.id, state=request.state.value)


def moderation_changed(session: Session, **ids: uuid.UUID | str) -> None:
    publish(session, moderators(session), "moderation.queue", **ids)


def story_reviewed(session: Session, story: Story) -> None:
    publish(session, moderators(session), "moderation.queue", story_id=story.id)
    publish(session, [story.narrator_id], "story.reviewed", story_id=story.id)


def storybox_changed(session: Session, box_id: uuid.UUID, children: Iterable[uuid.UUID]) -> None:
    """What a box puts on a shelf changed (a story added, removed, back from or out for
    review; the box given to a class): the children who see it sync it again."""
    publish(session, children, "storybox.changed", box_id=box_id)


def upload_finished(session: Session, asset: AudioAsset, *, ok: bool) -> None:
    publish(
        session,
        [asset.owner_id],
        "upload.ready" if ok else "upload.failed",
        asset_id=asset.id,
        purpose=asset.purpose,
    )


def notified(session: Session, notification: Notification) -> None:
    """A notification for a person: the client refreshes its feed and badge."""
    if notification.recipient_id is None:
        return
    publish(
        session,
        [notification.recipient_id],
        "notification",
        notification_id=notification.id,
        notification_kind=notification.kind,
    )


def session_revoked(session: Session, user_id: uuid.UUID, auth_session_id: uuid.UUID) -> None:
    """Ends that sign-in's open streams at once (they also re-check every few seconds)."""
    publish(session, [user_id], "session.revoked", session_id=auth_session_id)
