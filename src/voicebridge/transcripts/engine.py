"""The transcription engine behind one interface, and whether this process can use it.

faster-whisper is the first engine. Its model directory is verified against a
pinned SHA-256 before it is loaded, and loaded once per process. When the
``[asr]`` extra or the model is missing, :func:`availability` says why and
nothing else changes: recordings are kept and played exactly as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from voicebridge.config import Settings
from voicebridge.transcripts.config import TranscriptSettings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class Segment:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class Result:
    segments: list[Segment]
    audio_seconds: float
    engine: str

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()


class Engine(Protocol):
    name: str

    def transcribe(self, audio: Path, *, prompt: str | None) -> Result:
        """Speech in ``audio`` (any format PyAV reads) as timed segments."""


@dataclass(frozen=True)
class Availability:
    ready: bool
    detail: str
    model_dir: Path | None = None


def model_dir(settings: Settings) -> Path:
    return settings.transcripts.model_dir or settings.data_dir / "asr" / "whisper-base"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def _verified_hash(path: Path) -> str:
    """The file's SHA-256, computed once per process for one size and modification time."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key not in _verified:
            _verified[key] = sha256_of(path)
        return _verified[key]


def availability(settings: Settings) -> Availability:
    """Whether this process can transcribe, and if not, what is missing."""
    conf = settings.transcripts
    if not conf.enabled:
        return Availability(False, "transcription turned off (VOICEBRIDGE_TRANSCRIPTS__ENABLED)")
    if importlib.util.find_spec("faster_whisper") is None:
        return Availability(False, "engine not installed: pip install 'voicebridge[asr]'")
    directory = model_dir(settings)
    missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
    if missing:
        return Availability(
            False,
            f"model missing in {directory} ({', '.join(missing)}): "
            "run `voicebridge asr fetch-model`",
            directory,
        )
    actual = _verified_hash(directory / "model.bin")
    if actual != conf.model_sha256.lower():
        return Availability(
            False,
            f"model.bin in {directory} has SHA-256 {actual}, "
            f"not the pinned {conf.model_sha256}: refused",
            directory,
        )
    return Availability(True, f"faster-whisper, model {directory.name} verified", directory)


@lru_cache(maxsize=4)
def _prompts(path: str | None) -> dict[str, Any]:
    shipped = resources.files("voicebridge.transcripts").joinpath("data/asr.json")
    data: dict[str, Any] = json.loads(shipped.read_text("utf-8"))
    if path is not None:
        data.update(json.loads(Path(path).read_text("utf-8")))
    return data


def initial_prompt(conf: TranscriptSettings, context: str) -> str | None:
    """The decoder's initial prompt for a recording's context ("help" or "family"), as data."""
    prompts: dict[str, str] = _prompts(str(conf.prompt_file) if conf.prompt_file else None)[
        "initial_prompts"
    ]
    return prompts.get(context) or prompts.get("default")


def prompt_echoes(conf: TranscriptSettings) -> tuple[str, ...]:
    data = _prompts(str(conf.prompt_file) if conf.prompt_file else None)
    return tuple(data.get("prompt_echo_prefixes", []))


def _echoes_prompt(text: str, prefixes: tuple[str, ...]) -> bool:
    """On audio it cannot make out, Whisper may write its prompt back: such a segment is
    the prompt's words, not the child's, and must not reach triage."""
    return any(text.lstrip("：:，, ").startswith(p) for p in prefixes)


@dataclass
class FasterWhisper:
    """Whisper in CTranslate2: VAD first, then each speech chunk (≤ chunk_seconds) on its own,
    each with the initial prompt, since the prompt only conditions the first 30 s window."""

    directory: Path
    conf: TranscriptSettings
    name: str = "faster-whisper"
    echoes: tuple[str, ...] = ()
    _model: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            str(self.directory),
            device="cpu",
            compute_type=self.conf.compute_type,
            cpu_threads=self.conf.cpu_threads,
            num_workers=1,
        )
        self.name = f"faster-whisper {self.directory.name} {self.conf.compute_type}"
        self.echoes = prompt_echoes(self.conf)

    def transcribe(self, audio: Path, *, prompt: str | None) -> Result:
        from faster_whisper import decode_audio
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        samples = decode_audio(str(audio), sampling_rate=SAMPLE_RATE)
        chunks = get_speech_timestamps(
            samples,
            VadOptions(
                max_speech_duration_s=self.conf.chunk_seconds,
                min_silence_duration_ms=300,
                speech_pad_ms=200,
            ),
        )
        segments: list[Segment] = []
        for chunk in chunks:
            start, end = int(chunk["start"]), int(chunk["end"])
            offset_ms = start * 1000 // SAMPLE_RATE
            pieces, _info = self._model.transcribe(
                samples[start:end],
                language=self.conf.language,
                initial_prompt=prompt,
                beam_size=self.conf.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
                temperature=0.0,
                # Unintelligible audio can make the decoder repeat one token until the
                # window ends; speech has at most ~8 tokens a second.
                max_new_tokens=min(440, int((end - start) / SAMPLE_RATE * 8) + 10),
            )
            for piece in pieces:
                text = piece.text.strip()
                if text and not _echoes_prompt(text, self.echoes):
                    segments.append(
                        Segment(
                            start_ms=offset_ms + int(piece.start * 1000),
                            end_ms=offset_ms + int(piece.end * 1000),
                            text=text,
                        )
                    )
        return Result(segments, len(samples) / SAMPLE_RATE, self.name)


_engines: dict[tuple[str, str, int, str, int, float, str], Engine] = {}
_load_lock = threading.Lock()


def engine(settings: Settings) -> Engine:
    """The engine of this process, loaded once after its model passed the hash check.

    Raises RuntimeError with the reason when transcription is unavailable.
    """
    state = availability(settings)
    if not state.ready or state.model_dir is None:
        raise RuntimeError(state.detail)
    conf = settings.transcripts
    key = (
        str(state.model_dir),
        conf.compute_type,
        conf.cpu_threads,
        conf.language,
        conf.beam_size,
        conf.chunk_seconds,
        conf.model_sha256,
    )
    with _load_lock:
        if key not in _engines:
            log.info("loading transcription model", extra={"model_dir": str(state.model_dir)})
            _engines[key] = FasterWhisper(state.model_dir, conf)
        return _engines[key]


def log_availability(settings: Settings) -> Availability:
    state = availability(settings)
    if state.ready:
        log.info("transcription available: %s", state.detail)
    else:
        log.warning(
            "transcription unavailable, recordings are kept untranscribed: %s", state.detail
        )
    return state
