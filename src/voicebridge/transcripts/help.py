"""What a transcript does in a help case: it can only raise urgency, and a raise re-routes.

The same triage as typed text (``help.triage``) through ``help.service``'s raise
path, which re-runs routing: a critical raise broadcasts to everyone on duty and
alerts every supervisor; an assigned case escalates to them.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from voicebridge import clock
from voicebridge.help import service, triage
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import (
    HelpMessage,
    HelpRequest,
    MessageState,
    RequestState,
    Urgency,
)

log = logging.getLogger(__name__)


def raise_urgency_from_transcript(
    session: Session, settings: HelpSettings, request: HelpRequest, text: str
) -> Urgency | None:
    """The transcript of the child's recorded request, through issue 9's hook: the same
    triage as typed words, only ever up, a raise re-routes. The new urgency, or None."""
    if request.state is RequestState.closed:
        return None
    before = request.urgency
    found = service.apply_transcript(session, settings, request, text)
    if found is not None:
        log.warning(
            "transcript raised a help request's urgency",
            extra={"request": str(request.id), "from": before.value, "to": found.value},
        )
    return found


def raise_urgency_from_voice_message(
    session: Session, settings: HelpSettings, request: HelpRequest, text: str
) -> Urgency | None:
    """A child's voice message in the case: triaged like a typed one, only ever up."""
    if request.state is RequestState.closed:
        return None
    found = triage.raised(request.urgency, triage.scan_risk(triage.load(settings), text))
    if found is not None:
        service.raise_urgency(
            session, settings, request, found, "triage: risk words in a voice message"
        )
    return found


# Spoken numbers are often written in Chinese numerals; the contact filter reads digits.
_NUMERALS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")


def spoken_contact_details(text: str | None) -> list[str]:
    """The contact filter on a transcript, and on it with spoken numerals read as digits."""
    if not text:
        return []
    found = triage.contact_details(text)
    for kind in triage.contact_details(text.translate(_NUMERALS)):
        if kind not in found:
            found.append(kind)
    return found


def screen_volunteer_message(session: Session, message: HelpMessage, text: str | None) -> None:
    """A volunteer's voice reaches the child only after its words passed the contact filter."""
    if message.state is not MessageState.processing:
        return
    reasons = spoken_contact_details(text)
    if text is None:
        # No transcript could be made: a supervisor listens before the child does.
        reasons = ["not_transcribed"]
    if reasons:
        message.state = MessageState.held_for_review
        message.held_reasons = reasons
    else:
        message.state = MessageState.visible
        request = session.get(HelpRequest, message.request_id)
        if request is not None and request.first_response_at is None:
            request.first_response_at = clock.now()
            session.add(request)
    session.add(message)
    session.flush()
