"""What happened, and who is told: the calls other domains make, inside their transactions.

Each function decides the recipients and the notification's data (ids and
template words only) and writes it through ``outbox``; none sends anything.

Confidentiality is decided here, once: a child's words, a help request's
category and a child's family name never enter ``data``; help notices go to
psychologists, supervisors and school staff only (``outbox.record`` refuses a
guardian whatever it is asked).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.accounts.models import Role, User
from voicebridge.families.models import GuardianLink, Invitation
from voicebridge.help.models import Escalation, HelpAlert, HelpRequest, Offer, Urgency
from voicebridge.messages.models import Message, Thread, ThreadKind
from voicebridge.notifications import outbox
from voicebridge.notifications.models import Channel, Notification
from voicebridge.schools.models import Child, School, StaffMembership
from voicebridge.stories.models import Chapter, Story, StoryAudience, Visibility

# A help alert's kind (help domain) -> the notice it becomes.
HELP_ALERTS = {
    "critical_request": "help.critical",
    "escalation_supervisors": "help.escalation",
    "escalation_safeguarding": "help.escalation",
}


def _school_staff(session: Session, school_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(StaffMembership.user_id).where(
                StaffMembership.school_id == school_id, col(StaffMembership.ended_at).is_(None)
            )
        )
    )


def message_ready(session: Session, message: Message, thread: Thread) -> None:
    """A voice message became playable: the child's kiosk feed, or the adults the child wrote to."""
    sender = session.get(User, message.sender_id)
    child = session.get(Child, thread.child_id)
    if sender is None or child is None:
        return
    ids = {"thread_id": str(thread.id), "message_id": str(message.id)}
    if sender.role is Role.child:
        if thread.kind is ThreadKind.family and thread.guardian_id is not None:
            recipients = [thread.guardian_id]
        else:
            recipients = _school_staff(session, child.school_id)
        data = {**ids, "child_id": str(child.id), "child_name": child.given_name}
        kind = "message.reply"
    else:
        if thread.kind is ThreadKind.school:
            school = session.get(School, child.school_id)
            name = school.name if school is not None else ""
        else:
            name = sender.display_name
        recipients, kind, data = [child.id], "message.new", {**ids, "sender_name": name}
    for recipient in recipients:
        outbox.record(
            session,
            recipient,
            kind,
            data,
            school_id=child.school_id,
            event_key=f"message:{message.id}:{recipient}",
        )


def child_listened(session: Session, listener: User, message: Message) -> None:
    """A child started a guardian's message: counted into the guardian's "listened" digest."""
    if listener.role is not Role.child:
        return
    thread = session.get(Thread, message.thread_id)
    if thread is None or thread.kind is not ThreadKind.family or thread.guardian_id is None:
        return
    if message.sender_id != thread.guardian_id:
        return
    child = session.get(Child, listener.id)
    if child is None:
        return
    outbox.add_to_digest(
        session,
        thread.guardian_id,
        "message.listened",
        f"listened:{thread.guardian_id}:{child.id}",
        {"child_id": str(child.id), "child_name": child.given_name, "thread_id": str(thread.id)},
    )


def chapter_ready(session: Session, chapter: Chapter, story: Story) -> None:
    """A parent's story chapter is ready: each child it is for sees it when it is released."""
    if story.visibility is not Visibility.private:
        return
    audience = session.exec(
        select(StoryAudience.child_id).where(StoryAudience.story_id == story.id)
    ).all()
    for child_id in audience:
        outbox.record(
            session,
            child_id,
            "story.chapter",
            {"story_id": str(story.id), "chapter_id": str(chapter.id), "story_title": story.title},
            visible_at=_chapter_visible_at(chapter, story),
            event_key=f"chapter:{chapter.id}:{child_id}",
        )


def _chapter_visible_at(chapter: Chapter, story: Story) -> datetime | None:
    times = [t for t in (story.available_from, chapter.release_at) if t is not None]
    return max(times) if times else None


def chapter_rescheduled(session: Session, chapter: Chapter, story: Story) -> None:
    """A guardian moved a chapter's release: news not yet shown moves with it (news a
    child already saw stays; the chapter itself waits for its new time either way)."""
    now = clock.now()
    stmt = select(Notification).where(
        col(Notification.event_key).startswith(f"chapter:{chapter.id}:")
    )
    for notification in session.exec(stmt):
        if notification.visible_at > now:
            notification.visible_at = max(_chapter_visible_at(chapter, story) or now, now)
            session.add(notification)
    session.flush()


def invitation_redeemed(
    session: Session, invitation: Invitation, guardian: User, link: GuardianLink
) -> None:
    """The staff member who issued a code hears that it was used (in the app, by e-mail)."""
    child = session.get(Child, invitation.child_id)
    if child is None:
        return
    outbox.record(
        session,
        invitation.created_by,
        "invitation.redeemed",
        {
            "child_id": str(child.id),
            "child_name": child.given_name,
            "guardian_name": guardian.display_name,
            "relation": link.relation.value,
        },
        school_id=invitation.school_id,
        event_key=f"invitation:{invitation.id}",
    )
    outbox.record_event(
        session,
        "invitation.redeemed",
        invitation.school_id,
        {"school_id": str(invitation.school_id), "link_id": str(link.id)},
        event_key=f"invitation-event:{invitation.id}",
    )


def help_alert(session: Session, request: HelpRequest, alert: HelpAlert) -> None:
    """A help alert row was written for someone: it reaches them on the right channels.

    Called wherever the help domain records that someone must be told. The
    notice names no child and no category; it links to the case in the console.
    """
    kind = HELP_ALERTS.get(alert.kind, "help.alert")
    outbox.record(
        session,
        alert.recipient_id,
        kind,
        {"request_id": str(request.id), "alert": alert.kind},
        school_id=request.school_id,
        event_key=f"help-alert:{alert.id}",
    )


def help_offer(session: Session, offer: Offer, request: HelpRequest) -> None:
    """An urgent offer reaches an on-duty psychologist's phone; a critical one with sound.

    Normal and low offers wait in the console's queue (live on screen) and are
    re-offered when they expire, so they send nothing: a volunteer's phone buzzes
    only when a child cannot wait.
    """
    if request.urgency not in (Urgency.critical, Urgency.high):
        return
    critical = request.urgency is Urgency.critical
    outbox.record(
        session,
        offer.psychologist_id,
        "help.critical" if critical else "help.offer",
        {"request_id": str(request.id), "offer_id": str(offer.id)},
        school_id=request.school_id,
        event_key=f"offer:{offer.id}",
        channels=(Channel.in_app, Channel.push) if critical else None,
    )


def help_escalated(session: Session, escalation: Escalation, request: HelpRequest) -> None:
    """Partner organisations that asked for it hear that a request was escalated (ids only)."""
    outbox.record_event(
        session,
        "help.escalated",
        request.school_id,
        {
            "escalation_id": str(escalation.id),
            "request_id": str(request.id),
            "school_id": str(request.school_id),
            "level": escalation.level.value,
        },
        event_key=f"escalation:{escalation.id}",
    )


def pin_guessing(session: Session, *, child: Child, device: object) -> None:
    """Wrong PINs for a child keep coming from one device: the child's school is told."""
    device_id = getattr(device, "id", "")
    for recipient in _school_staff(session, child.school_id):
        outbox.record(
            session,
            recipient,
            "pin.guessing",
            {
                "child_id": str(child.id),
                "child_name": child.given_name,
                "device_name": str(getattr(device, "name", "")),
            },
            school_id=child.school_id,
            event_key=f"pin-guessing:{child.id}:{device_id}:{recipient}",
        )
