"""What an uploaded file claims to be, read from its container header.

Input is always a file on disk, never a stream: M4A and 3GP written by phones
keep their index (moov) at the end, so a reader must be able to seek. The upload
layer spools to a file first.

The claimed duration is only a claim. ``transcode`` compares it with what it
actually decodes, because a truncated upload still carries the full duration in
its header and decodes without a single error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from voicebridge.audio.errors import CorruptAudio, EmptyAudio, NotAudio


@dataclass(frozen=True)
class ProbeResult:
    format_name: str
    codec: str
    duration_ms: int | None
    sample_rate: int
    channels: int
    bit_rate: int | None


def probe(path: Path) -> ProbeResult:
    """Read the container header of ``path``; raise an ``InvalidAudio`` if unusable."""
    if path.stat().st_size == 0:
        raise EmptyAudio("The file has no content")
    container = open_input(path)
    with container:
        return describe(container)


def open_input(path: Path) -> Any:
    """Open ``path`` for demuxing, mapping "not a media file" to ``NotAudio``."""
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise NotAudio("The file is not a recognised media format") from exc


def describe(container: Any) -> ProbeResult:
    """Describe the first audio stream of an open container."""
    if not container.streams.audio:
        raise NotAudio("The file contains no sound")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if not ctx.name or ctx.name == "none":
        raise NotAudio("The sound in this file uses an unknown codec")
    if not ctx.sample_rate or not ctx.channels:
        raise CorruptAudio("The sound stream has no sample rate or channels")
    return ProbeResult(
        format_name=str(container.format.name),
        codec=str(ctx.name),
        duration_ms=_duration_ms(container, stream),
        sample_rate=int(ctx.sample_rate),
        channels=int(ctx.channels),
        bit_rate=int(ctx.bit_rate or container.bit_rate or 0) or None,
    )


def _duration_ms(container: Any, stream: Any) -> int | None:
    """Prefer the stream's own duration; WebM and MP3 only state the container's."""
    if stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * 1000)
    if container.duration and container.duration > 0:
        return int(container.duration // 1000)
    return None
