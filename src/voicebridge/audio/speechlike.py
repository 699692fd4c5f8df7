"""Speech-like recordings, in the formats phones and browsers actually send.

Used by the tests, the demo world (``voicebridge demo``) and the README's
sample recording (``samples/make.py``), so none of them needs a voice or a
network.

The audio is synthetic but speech-like (voiced syllables on a gliding pitch,
words, pauses, a little room noise) so that loudness gating, waveform peaks and
the Opus speech mode behave as they would on a parent's voice. Generation
streams in chunks: a 2-hour file is written without ever being held in memory,
and the expensive harmonic synthesis is done once per sample rate and looped.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

LOOP_SECONDS = 37.0
# The normal kind measures about -25 LUFS (a phone held close); the quiet kind
# about -35 LUFS (a phone on the table across the room).
QUIET_DB = -10.0


@dataclass(frozen=True)
class Spec:
    container: str
    codec: str
    rate: int
    channels: int
    bit_rate: int | None
    options: dict[str, str]


SPECS: dict[str, Spec] = {
    "webm": Spec("webm", "libopus", 48000, 1, 32000, {}),
    "ogg": Spec("ogg", "libopus", 48000, 1, 32000, {}),
    # Phones record AAC in stereo at 44.1 kHz; ffmpeg puts moov at the end.
    "m4a": Spec("mp4", "aac", 44100, 2, 96000, {}),
    "m4a-faststart": Spec("mp4", "aac", 44100, 2, 96000, {"movflags": "faststart"}),
    "mp3": Spec("mp3", "libmp3lame", 44100, 1, 64000, {}),
    "3gp": Spec("3gp", "libopencore_amrnb", 8000, 1, 12200, {}),
    "wav": Spec("wav", "pcm_s16le", 44100, 1, None, {}),
}


def make_recording(
    path: Path,
    fmt: str,
    seconds: float,
    *,
    kind: str = "speechlike",
    seed: int = 7,
) -> Path:
    """Write ``seconds`` of audio to ``path`` encoded as ``fmt`` (a key of SPECS).

    ``kind`` is "speechlike" (about -25 LUFS), "quiet" (about -35 LUFS) or
    "silence".
    """
    spec = SPECS[fmt]
    total = round(seconds * spec.rate)
    with av.open(str(path), "w", format=spec.container, options=spec.options) as out:
        stream = out.add_stream(spec.codec, rate=spec.rate)
        assert isinstance(stream, av.AudioStream)
        ctx = stream.codec_context
        ctx.layout = "mono" if spec.channels == 1 else "stereo"
        if spec.bit_rate:
            ctx.bit_rate = spec.bit_rate
        formats = av.Codec(spec.codec, "w").audio_formats
        assert formats, spec.codec
        sample_fmt = formats[0]
        ctx.format = sample_fmt
        ctx.open()
        frame_size = ctx.frame_size or 1024
        pts = 0
        for chunk in _chunks(total, spec.rate, kind, seed):
            for start in range(0, len(chunk), frame_size):
                piece = chunk[start : start + frame_size]
                if len(piece) < frame_size and fmt == "3gp":
                    piece = np.pad(piece, (0, frame_size - len(piece)))
                frame = _frame(piece, sample_fmt.name, spec.channels, spec.rate)
                frame.pts = pts
                pts += frame.samples
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _frame(mono: FloatArray, sample_fmt: str, channels: int, rate: int) -> av.AudioFrame:
    planar = sample_fmt.endswith("p")
    if sample_fmt.startswith("s16"):
        data: npt.NDArray[np.generic] = (np.clip(mono, -1, 1) * 32767).astype(np.int16)
    elif sample_fmt.startswith("s32"):
        data = (np.clip(mono, -1, 1) * 2147483647).astype(np.int32)
    else:
        data = mono.astype(np.float32)
    if planar:
        data = np.repeat(data[np.newaxis, :], channels, axis=0)
    else:
        data = np.repeat(data, channels)[np.newaxis, :]
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(data),
        format=sample_fmt,
        layout="mono" if channels == 1 else "stereo",
    )
    frame.sample_rate = rate
    return frame


def _chunks(total: int, rate: int, kind: str, seed: int) -> Iterator[FloatArray]:
    """Yield the signal in ~1 s chunks: the speech loop plus fresh room noise."""
    base = _speech_loop(rate, seed)
    gain = 10 ** (QUIET_DB / 20) if kind == "quiet" else 1.0
    rng = np.random.default_rng(seed + 1)
    done = 0
    while done < total:
        n = min(rate, total - done)
        idx = (np.arange(done, done + n) % len(base)).astype(np.int64)
        if kind == "silence":
            chunk = np.zeros(n, dtype=np.float32)
        else:
            noise = rng.standard_normal(n).astype(np.float32) * 0.001
            chunk = (base[idx] + noise) * np.float32(gain)
        yield chunk
        done += n


@functools.lru_cache(maxsize=8)
def _speech_loop(rate: int, seed: int) -> FloatArray:
    """Synthesise LOOP_SECONDS of voiced syllables grouped into words and phrases."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(LOOP_SECONDS * rate), dtype=np.float32)
    pos = int(0.2 * rate)
    while pos < len(out):
        for _ in range(int(rng.integers(3, 8))):
            for _ in range(int(rng.integers(1, 5))):
                n = int(rng.uniform(0.12, 0.30) * rate)
                f0 = np.linspace(rng.uniform(110, 240), rng.uniform(100, 230), n)
                phase = 2 * np.pi * np.cumsum(f0) / rate
                # Harmonics shaped by a vowel-like formant bump around 500-900 Hz.
                formant = rng.uniform(500, 900)
                voice = np.zeros(n)
                for k in range(1, 12):
                    weight = 1.0 / k + 1.5 * np.exp(-((((k * f0[0]) - formant) / 250.0) ** 2))
                    if k * f0.max() < rate / 2:
                        voice += weight * np.sin(k * phase)
                env = np.hanning(n) * rng.uniform(0.5, 1.0)
                end = min(pos + n, len(out))
                if end > pos:
                    out[pos:end] += (voice * env)[: end - pos].astype(np.float32)
                pos = end + int(rng.uniform(0.01, 0.05) * rate)
            pos += int(rng.uniform(0.06, 0.18) * rate)
        pos += int(rng.uniform(0.4, 1.0) * rate)
    out *= np.float32(0.5 / float(np.max(np.abs(out))))
    return out
