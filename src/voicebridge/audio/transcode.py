"""Turn any phone or browser recording into the stored Ogg/Opus, in one pass.

One decode yields everything the message needs: the playable file, its true
duration, the waveform and the loudness, with memory bounded by a few small
buffers however long the recording is.

Measured on a 2-core worker: PyAV 18 holds the GIL inside decode, encode and
the filter graph, so a decode thread (``threaded=True``) made a 10-minute
transcode 15% *slower* (5.7 s against 4.9 s) from lock hand-offs; it stays
available for a PyAV that releases the GIL. The speed comes instead from
doing Python work per 200 ms block and from the encoder settings below.

The output is written to a hidden sibling file and renamed into place only
after every check passed, so a failure never leaves a ``dst`` behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.filter
import numpy as np

from voicebridge.audio.errors import AudioTooLong, CorruptAudio, EmptyAudio
from voicebridge.audio.levels import Leveller, Peaks
from voicebridge.audio.probe import ProbeResult, describe, open_input

RATE = 48000
# The filter graph hands Python 200 ms blocks: per-block work (gain, peaks,
# frame objects) then costs a tenth of what 20 ms Opus frames would, and PyAV
# cuts each block into 20 ms frames for libopus itself. (100 ms blocks took 8%
# longer on a 10-minute M4A.)
BLOCK = 9600
TIME_BASE = Fraction(1, RATE)
MIN_DURATION_MS = 300
# A truncated upload decodes cleanly; only a shortfall against the header shows it.
MIN_DECODED_FRACTION = 0.9
# Skipping a few damaged packets saves a recording; past this share it is noise.
MAX_SKIPPED_FRACTION = 0.05
MIN_SKIPPED_TOLERATED = 20
# libopus at 24 kbit/s mono, measured on speech-like audio: application "audio"
# at complexity 5 encodes in 67 us per 20 ms frame against 118 us for "voip" at
# the default 10 (and, oddly, 153 us for "voip" at 5). bench/transcode.py
# compares the quality.
COMPRESSION_LEVEL = 5
APPLICATION = "audio"
QUEUE_FRAMES = 64
THREADED = False


@dataclass(frozen=True)
class AudioResult:
    duration_ms: int
    peaks: list[float]
    loudness_lufs: float | None
    gain_db: float
    size_bytes: int
    sha256: str
    skipped_packets: int
    source: ProbeResult
    codec: Literal["opus"] = "opus"
    sample_rate: Literal[48000] = 48000
    channels: Literal[1] = 1


def transcode(
    src: Path,
    dst: Path,
    *,
    bitrate: int = 24000,
    peaks: int = 400,
    target_lufs: float = -16.0,
    max_duration_s: float | None = None,
    compression_level: int = COMPRESSION_LEVEL,
    application: str = APPLICATION,
    threaded: bool = THREADED,
) -> AudioResult:
    """Transcode ``src`` to mono 48 kHz Ogg/Opus at ``dst``; raise an ``InvalidAudio``.

    ``max_duration_s`` is enforced on the claimed duration up front and on the
    decoded duration as we go, so a 3-hour file is refused without decoding
    3 hours.
    """
    if src.stat().st_size == 0:
        raise EmptyAudio("The file has no content")
    part = dst.with_name(f".{dst.name}.part")
    try:
        with open_input(src) as container:
            source = describe(container)
            limit_ms = None if max_duration_s is None else int(max_duration_s * 1000)
            if limit_ms is not None and source.duration_ms and source.duration_ms > limit_ms * 1.02:
                raise AudioTooLong(f"The recording is longer than {max_duration_s:g} s")
            run = _Run(container, source, part, bitrate, peaks, target_lufs, limit_ms)
            run.execute(compression_level, application, threaded)
        _verify(run, source)
        size, digest = _digest(part)
        os.replace(part, dst)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return AudioResult(
        duration_ms=run.duration_ms,
        peaks=run.peaks.result(),
        loudness_lufs=run.leveller.loudness,
        gain_db=round(run.leveller.gain_db, 2),
        size_bytes=size,
        sha256=digest,
        skipped_packets=run.skipped,
        source=source,
    )


def _verify(run: _Run, source: ProbeResult) -> None:
    if run.skipped > max(MIN_SKIPPED_TOLERATED, MAX_SKIPPED_FRACTION * run.packets):
        raise CorruptAudio(f"{run.skipped} of {run.packets} packets could not be decoded")
    if run.samples == 0 and run.skipped:
        raise CorruptAudio("No sound could be decoded")
    if run.duration_ms < MIN_DURATION_MS:
        raise EmptyAudio("The recording has no sound, or less than a moment of it")
    claimed = source.duration_ms
    if claimed and run.duration_ms < MIN_DECODED_FRACTION * claimed:
        raise CorruptAudio(
            f"Only {run.duration_ms / 1000:.1f} s of the {claimed / 1000:.1f} s "
            "recording could be read; the file looks cut off"
        )


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            sha.update(block)
            size += len(block)
    return size, sha.hexdigest()


@dataclass
class _Run:
    container: Any
    source: ProbeResult
    part: Path
    bitrate: int
    peak_count: int
    target_lufs: float
    limit_ms: int | None
    packets: int = 0
    skipped: int = 0
    samples: int = 0
    peaks: Peaks = field(init=False)
    leveller: Leveller = field(init=False)

    def __post_init__(self) -> None:
        expected = None if self.source.duration_ms is None else self.source.duration_ms * 48
        self.peaks = Peaks(self.peak_count, expected)
        self.leveller = Leveller(self.target_lufs, RATE)

    @property
    def duration_ms(self) -> int:
        return self.samples * 1000 // RATE

    def execute(self, compression_level: int, application: str, threaded: bool) -> None:
        frames = self._frames()
        with av.open(str(self.part), "w", format="ogg") as out:
            if not threaded:
                self._encode(frames, out, compression_level, application)
                return
            with _Prefetch(frames, QUEUE_FRAMES) as prefetched:
                self._encode(prefetched, out, compression_level, application)

    def _frames(self) -> Iterator[Any]:
        """Demux and decode, skipping packets the codec rejects."""
        stream = self.container.streams.audio[0]
        stream.codec_context.thread_type = "AUTO"
        demux_errors = 0
        while True:
            try:
                for packet in self.container.demux(stream):
                    self.packets += packet.size > 0
                    try:
                        decoded = packet.decode()
                    except av.error.FFmpegError:
                        self.skipped += 1
                        continue
                    yield from decoded
                return
            except av.error.FFmpegError:
                # The demuxer lost sync on damaged bytes; a new demux call
                # resumes after them.
                demux_errors += 1
                self.skipped += 1
                if demux_errors > MIN_SKIPPED_TOLERATED:
                    return

    def _encode(
        self, frames: Iterator[Any], out: Any, compression_level: int, application: str
    ) -> None:
        stream = out.add_stream(
            "libopus",
            rate=RATE,
            options={
                "application": application,
                "compression_level": str(compression_level),
                "vbr": "constrained",
            },
        )
        ctx = stream.codec_context
        ctx.layout = "mono"
        ctx.format = "flt"
        ctx.bit_rate = self.bitrate
        graph: _Graph | None = None
        for item in frames:
            if graph is None:
                graph = _Graph(item)
            elif not graph.accepts(item):
                self.skipped += 1
                continue
            for samples, short_term, integrated in graph.push(item):
                self._emit(self.leveller.push(samples, short_term, integrated), out, stream)
        if graph is None:
            if self.skipped:
                return
            raise EmptyAudio("The recording contains no sound")
        for samples, short_term, integrated in graph.push(None):
            self._emit(self.leveller.push(samples, short_term, integrated), out, stream)
        self._emit(self.leveller.drain(), out, stream)
        out.mux(stream.encode(None))

    def _emit(self, chunks: list[Any], out: Any, stream: Any) -> None:
        for samples in chunks:
            self.peaks.add(samples)
            frame = av.AudioFrame.from_ndarray(
                samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = self.samples
            frame.time_base = TIME_BASE
            self.samples += frame.samples
            if self.limit_ms is not None and self.duration_ms > self.limit_ms:
                raise AudioTooLong(f"The recording is longer than {self.limit_ms / 1000:g} s")
            out.mux(stream.encode(frame))


class _Prefetch:
    """Run an iterator in a thread, a bounded number of items ahead.

    Stops the producer when the consumer leaves early (an error, a length
    limit), so no thread outlives the transcode.
    """

    def __init__(self, source: Iterator[Any], size: int) -> None:
        self.source = source
        self.items: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, daemon=True)

    def __enter__(self) -> Iterator[Any]:
        self.thread.start()
        return self._consume()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.items.get(timeout=0.05)
        self.thread.join()

    def _produce(self) -> None:
        try:
            for item in self.source:
                if self.stop.is_set():
                    return
                self.items.put(item)
            self.items.put(_END)
        except BaseException as exc:  # re-raised in the consuming thread
            self.items.put(exc)

    def _consume(self) -> Iterator[Any]:
        while (item := self.items.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item


_END = object()


class _Graph:
    """Resample and downmix to 48 kHz mono, measuring EBU R128 loudness on the way.

    ``ebur128`` reports its running short-term and integrated loudness as frame
    metadata, which the ``Leveller`` reads; ``asetnsamples`` cuts fixed blocks.
    """

    def __init__(self, first: Any) -> None:
        self.format = first.format.name
        self.rate = first.sample_rate
        self.layout = first.layout.name
        self.pts = 0
        self.time_base = Fraction(1, self.rate)
        self.graph = av.filter.Graph()
        chain = [
            self.graph.add_abuffer(
                format=self.format,
                sample_rate=self.rate,
                layout=self.layout,
                time_base=self.time_base,
            ),
            self.graph.add("aformat", f"sample_fmts=dbl:sample_rates={RATE}:channel_layouts=mono"),
            self.graph.add("ebur128", "metadata=1"),
            self.graph.add("asetnsamples", f"n={BLOCK}:p=0"),
            self.graph.add("abuffersink"),
        ]
        for a, b in zip(chain, chain[1:], strict=False):
            a.link_to(b)
        self.graph.configure()

    def accepts(self, frame: Any) -> bool:
        return bool(
            frame.format.name == self.format
            and frame.sample_rate == self.rate
            and frame.layout.name == self.layout
        )

    def push(self, frame: Any) -> list[tuple[Any, float, float]]:
        if frame is not None:
            frame.pts = self.pts
            frame.time_base = self.time_base
            self.pts += frame.samples
        self.graph.push(frame)
        out: list[tuple[Any, float, float]] = []
        while True:
            try:
                result: Any = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return out
            meta = result.metadata
            out.append(
                (
                    np.frombuffer(result.planes[0], dtype=np.float64, count=result.samples),
                    float(meta.get("lavfi.r128.S", "-inf")),
                    float(meta.get("lavfi.r128.I", "-inf")),
                )
            )
