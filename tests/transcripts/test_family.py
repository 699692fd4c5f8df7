"""Family transcripts only with the guardian's consent; shown to both sides, searchable,
deleted with the message; a withdrawn consent stops new ones and deletes the old ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from tests.transcripts import speech
from tests.transcripts.conftest import Live, factory_of, needs_speech
from voicebridge.accounts.models import Role, User
from voicebridge.families import service as families
from voicebridge.schools.models import StaffRole
from voicebridge.transcripts.models import Transcript

pytestmark = [needs_speech, pytest.mark.slow]


def _send(live: Live, headers: dict[str, str], thread_id: str, recording: Path) -> str:
    sent = live.client.post(
        f"/api/v1/uploads/single?purpose=message&thread_id={thread_id}",
        content=recording.read_bytes(),
        headers={**headers, "Content-Type": "audio/wav"},
    )
    assert sent.status_code == 201, sent.text
    return str(sent.json()["asset_id"])


def _transcribed(live: Live) -> set[str]:
    with live.session() as session:
        return {str(a) for a in session.exec(select(Transcript.asset_id)).all()}


@pytest.mark.parametrize("committed_url", ["postgresql"], indirect=True)
def test_family_transcripts_follow_consent(with_asr: Live, tmp_path: Path) -> None:
    live = with_asr
    words = speech.recording(tmp_path / "m.wav", ["明天有数学考试，我要早点睡觉。"]).path
    with live.session() as session:
        factory = factory_of(live, session)
        school = factory.school()
        factory.staff(school, StaffRole.admin)
        child = factory.child(school)
        consenting, link = factory.guardian_of(child)  # every purpose, transcripts included
        other = factory.user(Role.guardian, "Uncle")
        _, code = families.issue_invitation(
            session, live.settings.auth, child, link.relation, None, factory.any_staff_id(school.id)
        )
        families.redeem(
            session,
            live.settings.auth,
            other,
            code,
            notice_version="2026-09",
            purposes=["voice_messages"],
            retention_days=365,
            agreed=True,
        )
        child_user = session.get(User, child.id)
        assert child_user is not None
        kid, mum, uncle = (factory.headers(u) for u in (child_user, consenting, other))
        link_id, child_id = link.id, child.id
        session.commit()

    def thread(headers: dict[str, str]) -> str:
        opened = live.client.post(f"/api/v1/children/{child_id}/thread", headers=headers)
        assert opened.status_code == 200, opened.text
        return str(opened.json()["id"])

    mums, uncles = thread(mum), thread(uncle)
    first = _send(live, mum, mums, words)
    unconsented = _send(live, uncle, uncles, words)
    live.run_jobs()
    assert _transcribed(live) == {first}  # the uncle did not consent to transcripts

    for headers in (kid, mum):  # both sides see it, labelled machine-made
        page = live.client.get(f"/api/v1/threads/{mums}/messages", headers=headers).json()
        (shown,) = page["items"]
        assert shown["transcript"]["machine_made"] is True
        assert "考试" in shown["transcript"]["text"], shown["transcript"]
        found = live.client.get(
            f"/api/v1/threads/{mums}/messages", params={"q": "考试"}, headers=headers
        ).json()
        assert [m["id"] for m in found["items"]] == [shown["id"]]
        none = live.client.get(
            f"/api/v1/threads/{mums}/messages", params={"q": "长颈鹿"}, headers=headers
        ).json()
        assert none["items"] == []
    (uncle_message,) = live.client.get(f"/api/v1/threads/{uncles}/messages", headers=kid).json()[
        "items"
    ]
    assert uncle_message["transcript"] is None
    assert unconsented not in _transcribed(live)

    # Deleted with the message.
    deleted = live.client.delete(f"/api/v1/messages/{shown['id']}", headers=mum)
    assert deleted.status_code == 204, deleted.text
    assert _transcribed(live) == set()

    second = _send(live, mum, mums, words)
    live.run_jobs()
    assert _transcribed(live) == {second}

    # Withdrawn consent: the one waiting is never transcribed, the old one goes.
    _send(live, mum, mums, words)
    withdrawn = live.client.post(f"/api/v1/guardian-links/{link_id}/withdraw-consent", headers=mum)
    assert withdrawn.status_code == 200, withdrawn.text
    assert _transcribed(live) == set()
    live.run_jobs()
    assert _transcribed(live) == set()
