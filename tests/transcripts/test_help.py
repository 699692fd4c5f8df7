"""A child's spoken words reach triage; a volunteer's spoken phone number is held.

Real model (Whisper base from its PyPI wheels), real synthesised Mandarin, real
PostgreSQL, the real job worker. The risk phrase comes after 50 s of neutral
speech, past the first 30 s window the decoder's prompt would otherwise reach.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlmodel import col, select

from tests.help.helpers import psychologist
from tests.transcripts import speech
from tests.transcripts.conftest import Live, factory_of, needs_speech
from voicebridge.accounts.models import User
from voicebridge.help.models import (
    HelpAlert,
    HelpMessage,
    HelpRequest,
    MessageState,
    Offer,
    OfferState,
    Urgency,
)
from voicebridge.jobs.models import Job
from voicebridge.schools.models import StaffRole
from voicebridge.transcripts.models import Transcript
from voicebridge.transcripts.service import TRANSCRIBE_JOB

pytestmark = [needs_speech, pytest.mark.slow]
POSTGRES = pytest.mark.parametrize("committed_url", ["postgresql"], indirect=True)


def _world(live: Live) -> tuple[dict[str, str], list[uuid.UUID], uuid.UUID]:
    """A child, three psychologists on duty (one a supervisor); the child's headers."""
    with live.session() as session:
        factory = factory_of(live, session)
        school = factory.school()
        factory.staff(school, StaffRole.admin, safeguarding=True)
        child = factory.child(school)
        team = [
            psychologist(factory, name="Dr Zhang")[0],
            psychologist(factory, name="Dr Wang")[0],
            psychologist(factory, name="Dr Chen", supervisor=True)[0],
        ]
        user = session.get(User, child.id)
        assert user is not None
        headers = factory.headers(user)
        session.commit()
        return headers, [p.id for p in team], child.id


def _voice_request(live: Live, headers: dict[str, str], recording: Path) -> uuid.UUID:
    created = live.client.post(
        "/api/v1/help/requests",
        json={"category": "lonely", "voice": True, "language": "cmn"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()["request"]
    assert body["urgency"] == "normal"  # from the child's choices alone
    request_id = uuid.UUID(body["id"])
    upload = live.client.post(
        f"/api/v1/uploads/single?purpose=help_request&request_id={request_id}",
        content=recording.read_bytes(),
        headers={**headers, "Content-Type": "audio/wav"},
    )
    assert upload.status_code == 201, upload.text
    return request_id


@POSTGRES
def test_spoken_risk_after_50_seconds_makes_the_request_critical_and_broadcasts(
    with_asr: Live, tmp_path: Path
) -> None:
    live = with_asr
    recording = speech.recording(tmp_path / "help.wav", ["我不想活了。"], neutral_seconds=50)
    assert recording.risk_at is not None
    assert recording.risk_at >= 50
    headers, team, _ = _world(live)
    started = time.monotonic()
    request_id = _voice_request(live, headers, recording.path)
    live.run_jobs()
    elapsed = time.monotonic() - started
    print(  # noqa: T201 - the issue asks the test to say how long it took
        f"\n{recording.seconds:.0f} s recording, risk phrase at {recording.risk_at:.0f} s: "
        f"critical and broadcast {elapsed:.1f} s after the upload"
    )
    with live.session() as session:
        request = session.get(HelpRequest, request_id)
        assert request is not None
        transcript = session.exec(
            select(Transcript).where(Transcript.asset_id == request.audio_asset_id)
        ).one()
        assert transcript.machine_made
        assert "不想活" in transcript.text, transcript.text
        late = [s for s in transcript.segments if s["start_ms"] >= 45_000]
        assert any("不想活" in s["text"] for s in late), transcript.segments
        assert request.urgency is Urgency.critical
        offered = session.exec(
            select(Offer.psychologist_id).where(
                Offer.request_id == request_id, Offer.state == OfferState.open
            )
        ).all()
        assert set(offered) == set(team)  # every psychologist on duty
        assert session.exec(
            select(HelpAlert).where(
                HelpAlert.request_id == request_id, HelpAlert.kind == "critical_request"
            )
        ).first()
    # The psychologist sees the transcript, labelled, next to the recording.
    with live.session() as session:
        psych = session.get(User, team[0])
        assert psych is not None
        h = factory_of(live, session).headers(psych)
        session.commit()
    seen = live.client.get(f"/api/v1/help/requests/{request_id}", headers=h)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["audio_asset_id"] is not None
    assert body["transcript"]["machine_made"] is True
    assert "Machine-made" in body["transcript"]["label"]
    assert body["not_yet_heard"] is True  # a machine listened, no person yet
    # The child's own view shows no transcript.
    mine = live.client.get(f"/api/v1/help/requests/{request_id}", headers=headers).json()
    assert mine["transcript"] is None


@POSTGRES
def test_without_transcription_the_request_stays_as_triaged_and_not_yet_heard(
    without_asr: Live, tmp_path: Path
) -> None:
    live = without_asr
    recording = speech.recording(tmp_path / "help.wav", ["我不想活了。"], neutral_seconds=5)
    headers, team, _ = _world(live)
    ready = live.client.get("/readyz").json()
    assert ready["details"]["transcription"]["available"] is False
    request_id = _voice_request(live, headers, recording.path)
    live.run_jobs()
    with live.session() as session:
        request = session.get(HelpRequest, request_id)
        assert request is not None
        assert request.audio_asset_id is not None
        assert request.urgency is Urgency.normal  # the child's choices alone
        assert not session.exec(select(Job).where(Job.kind == TRANSCRIBE_JOB)).first()
        offered = session.exec(select(Offer).where(Offer.request_id == request_id)).all()
        assert len(offered) == 1  # routed as a normal request: one offer at a time
        psych = session.get(User, offered[0].psychologist_id)
        assert psych is not None
        h = factory_of(live, session).headers(psych)
        session.commit()
    routing_view = live.client.get(f"/api/v1/help/requests/{request_id}", headers=h).json()
    assert routing_view["not_yet_heard"] is True
    assert routing_view["transcript"] is None


@POSTGRES
def test_a_psychologists_spoken_phone_number_is_held_for_a_supervisor(
    with_asr: Live, tmp_path: Path
) -> None:
    live = with_asr
    recording = speech.recording(
        tmp_path / "reply.wav",
        ["你好，我是王老师。", "我的手机号是一三九，一二三四，五六七八。", "你可以打给我。"],
    )
    headers, team, _ = _world(live)
    created = live.client.post(
        "/api/v1/help/requests",
        json={"category": "lonely", "text": "我想妈妈", "language": "cmn"},
        headers=headers,
    ).json()["request"]
    with live.session() as session:
        offer = session.exec(
            select(Offer).where(Offer.request_id == uuid.UUID(created["id"]))
        ).one()
        taker = session.get(User, offer.psychologist_id)
        assert taker is not None
        ph = factory_of(live, session).headers(taker)
        session.commit()
    accepted = live.client.post(f"/api/v1/help/requests/{created['id']}/accept", headers=ph)
    assert accepted.status_code == 200, accepted.text
    upload = live.client.post(
        f"/api/v1/uploads/single?purpose=help_message&case_id={created['id']}",
        content=recording.path.read_bytes(),
        headers={**ph, "Content-Type": "audio/wav"},
    )
    assert upload.status_code == 201, upload.text
    live.run_jobs()
    with live.session() as session:
        message = session.exec(
            select(HelpMessage).where(col(HelpMessage.audio_asset_id).is_not(None))
        ).one()
        transcript = session.exec(
            select(Transcript).where(Transcript.asset_id == message.audio_asset_id)
        ).one()
        assert message.state is MessageState.held_for_review, transcript.text
        assert "phone" in message.held_reasons, (message.held_reasons, transcript.text)
        assert message.reviewed_at is None
        boss = session.get(User, team[2])
        assert boss is not None
        supervisor = factory_of(live, session).headers(boss)
        session.commit()
    child_sees = live.client.get(f"/api/v1/help/requests/{created['id']}/messages", headers=headers)
    assert child_sees.json() == []
    held = live.client.get("/api/v1/help/review/messages", headers=supervisor)
    assert [m["transcript"]["machine_made"] for m in held.json()] == [True]
