"""Which recordings are transcribed, in what order, and what a finished transcript does.

Every spoken help request and every voice message in a case is transcribed,
ahead of any family message (job priority). A family message is transcribed
only while the guardian's consent lists the purpose ``transcripts``.
"""

from __future__ import annotations

import logging
import uuid

from sqlmodel import Session, col, select

from voicebridge.audio.models import AudioAsset
from voicebridge.config import Settings
from voicebridge.families.models import Consent, GuardianLink
from voicebridge.help.models import HelpMessage, HelpRequest
from voicebridge.jobs import service as jobs
from voicebridge.messages.models import Message, Thread, ThreadKind
from voicebridge.transcripts import engine as asr
from voicebridge.transcripts.help import (
    raise_urgency_from_transcript,
    raise_urgency_from_voice_message,
    screen_volunteer_message,
)
from voicebridge.transcripts.models import Subject, Transcript

log = logging.getLogger(__name__)

TRANSCRIBE_JOB = "transcripts.transcribe"
CONSENT_PURPOSE = "transcripts"
PRIORITY = {Subject.help_request: 100, Subject.help_message: 90, Subject.family_message: 0}
PROMPT_CONTEXT = {
    Subject.help_request: "help",
    Subject.help_message: "help",
    Subject.family_message: "family",
}


def prompt_context(session: Session, asset: AudioAsset, subject: Subject) -> str:
    """Which initial prompt: a child's risk phrases, a volunteer's contact details, family."""
    if subject is Subject.help_message:
        message = session.exec(
            select(HelpMessage).where(HelpMessage.audio_asset_id == asset.id)
        ).first()
        if message is not None and not message.from_child:
            # Never the risk phrases here: on unclear audio the decoder may write its
            # prompt back, and a volunteer's message is screened for contact details.
            return "volunteer"
    return PROMPT_CONTEXT[subject]


def family_consents(session: Session, child_id: uuid.UUID, guardian_id: uuid.UUID | None) -> bool:
    """The guardian's current consent for this child is in force and lists transcripts."""
    if guardian_id is None:
        return False
    consent = session.exec(
        select(Consent)
        .join(GuardianLink, col(GuardianLink.id) == col(Consent.link_id))
        .where(
            GuardianLink.child_id == child_id,
            GuardianLink.guardian_id == guardian_id,
            col(GuardianLink.revoked_at).is_(None),
        )
        .order_by(col(Consent.given_at).desc())
    ).first()
    return (
        consent is not None
        and consent.withdrawn_at is None
        and CONSENT_PURPOSE in (consent.purposes or [])
    )


def subject_of(session: Session, asset: AudioAsset) -> Subject | None:
    """What the recording is, or None when it must not be transcribed."""
    if asset.purpose == "help_request":
        return Subject.help_request
    if asset.purpose == "help_message":
        return Subject.help_message
    if asset.purpose == "message":
        message = session.exec(select(Message).where(Message.asset_id == asset.id)).first()
        if message is None or message.deleted_at is not None:
            return None
        thread = session.get(Thread, message.thread_id)
        if (
            thread is not None
            and thread.kind is ThreadKind.family
            and family_consents(session, thread.child_id, thread.guardian_id)
        ):
            return Subject.family_message
    return None


def after_ready(session: Session, settings: Settings, asset: AudioAsset) -> bool:
    """Queues the transcript of a recording that just became playable.

    True when the recording must wait for it before anyone hears it: a
    volunteer's voice message in a case, held back from the child until its
    words passed the contact filter (:func:`apply` then releases or holds it).
    """
    subject = subject_of(session, asset)
    if subject is None or not asr.availability(settings).ready:
        return False
    jobs.enqueue(
        session,
        TRANSCRIBE_JOB,
        {"asset_id": str(asset.id)},
        dedupe_key=f"{TRANSCRIBE_JOB}:{asset.id}",
        priority=PRIORITY[subject],
    )
    if subject is Subject.help_message:
        message = session.exec(
            select(HelpMessage).where(HelpMessage.audio_asset_id == asset.id)
        ).first()
        return message is not None and not message.from_child
    return False


def apply(session: Session, settings: Settings, transcript: Transcript) -> None:
    """What follows a transcript, in the transaction that stores it."""
    if transcript.subject is Subject.help_request:
        request = session.exec(
            select(HelpRequest).where(HelpRequest.audio_asset_id == transcript.asset_id)
        ).first()
        if request is not None:
            raise_urgency_from_transcript(session, settings.help, request, transcript.text)
    elif transcript.subject is Subject.help_message:
        message = session.exec(
            select(HelpMessage).where(HelpMessage.audio_asset_id == transcript.asset_id)
        ).first()
        if message is None:
            return
        if message.from_child:
            request = session.get(HelpRequest, message.request_id)
            if request is not None:
                raise_urgency_from_voice_message(session, settings.help, request, transcript.text)
        else:
            screen_volunteer_message(session, message, transcript.text)


def untranscribable(session: Session, asset_id: uuid.UUID) -> None:
    """No transcript can be made: a volunteer's message waiting for one goes to a supervisor."""
    message = session.exec(
        select(HelpMessage).where(HelpMessage.audio_asset_id == asset_id)
    ).first()
    if message is not None and not message.from_child:
        screen_volunteer_message(session, message, None)
