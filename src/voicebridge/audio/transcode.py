"""Turn any phone or browser recording into the stored Ogg/Opus, in one pass.

One decode yields everything the message needs: the playable file, its true
duration, the waveform and the loudness, with memory bounded by a few small
buffers however long the recording is.

The work is C (the decoder, the filter graph that resamples, downmixes and
measures EBU R128 loudness and cuts 200 ms blocks, libopus); Python touches
each decoded packet once and each 200 ms block once, with numpy over the
whole block. Two stages run in two threads: *levels* (demux, decode, the
filter graph) and *encode* (the ``Leveller``'s gain and limiter, the waveform
``Peaks``, libopus, the Ogg muxer). PyAV 18 releases the GIL inside the codec
and filter calls, so the stages overlap: on a 10-minute phone recording the
two threads took 27 s and 59 s of wall time where one took 62 s and 102 s
(same CPU time, 5.5-5.8 s; a loaded 2-core machine), and the CPU time is the
ffmpeg command line's for the same work (5.6 s). Several recordings at once
are the worker's business (``pool.py``: one process per recording).

Tried and dropped: the encode stage in a forked process fed through a pipe.
It cost 5-20% more CPU (copies and wake-ups per block) than the thread and
finished no sooner.

The output is written to a hidden sibling file and renamed into place only
after every check passed, so a failure never leaves a ``dst`` behind.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.filter
import numpy as np

from voicebridge.audio.errors import AudioTooLong, CorruptAudio, EmptyAudio
from voicebridge.audio.levels import Leveller, Peaks, Samples
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
# Blocks (200 ms each) the levels stage may run ahead of the encoder.
QUEUE_BLOCKS = 16
# The resampler holds back a few dozen samples; a block is pulled once this many
# more than a block have gone in, so most decoded frames need no pull at all.
PULL_SLACK = 256


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


@dataclass(frozen=True)
class _Encoded:
    """What the encode stage learnt: the waveform and the loudness."""

    peaks: list[float]
    loudness_lufs: float | None
    gain_db: float


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
            expected = None if source.duration_ms is None else source.duration_ms * 48
            settings = _EncodeSettings(
                part, bitrate, peaks, expected, target_lufs, compression_level, application
            )
            encoder = _EncodeThread(_Encoder(settings))
            run = _Run(container, limit_ms)
            try:
                run.execute(encoder)
                encoded = encoder.finish()
            finally:
                encoder.close()
        _verify(run, source)
        size, digest = _digest(part)
        os.replace(part, dst)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return AudioResult(
        duration_ms=run.duration_ms,
        peaks=encoded.peaks,
        loudness_lufs=encoded.loudness_lufs,
        gain_db=round(encoded.gain_db, 2),
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
    """The levels stage: demux, decode and the filter graph, counting what it saw."""

    container: Any
    limit_ms: int | None
    packets: int = 0
    skipped: int = 0
    samples: int = 0

    @property
    def duration_ms(self) -> int:
        return self.samples * 1000 // RATE

    def execute(self, encoder: _EncodeThread) -> None:
        graph: _Graph | None = None
        for item in self._frames():
            if graph is None:
                graph = _Graph(item)
            elif not graph.accepts(item):
                self.skipped += 1
                continue
            for block in graph.push(item):
                self._count(block[0])
                encoder.push(*block)
        if graph is None:
            if self.skipped:
                return
            raise EmptyAudio("The recording contains no sound")
        for block in graph.push(None):
            self._count(block[0])
            encoder.push(*block)

    def _count(self, samples: Samples) -> None:
        self.samples += len(samples)
        if self.limit_ms is not None and self.duration_ms > self.limit_ms:
            raise AudioTooLong(f"The recording is longer than {self.limit_ms / 1000:g} s")

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


@dataclass(frozen=True)
class _EncodeSettings:
    part: Path
    bitrate: int
    peak_count: int
    expected_samples: int | None
    target_lufs: float
    compression_level: int
    application: str


class _Encoder:
    """The encode stage: gain, waveform, libopus, Ogg."""

    def __init__(self, settings: _EncodeSettings) -> None:
        self.peaks = Peaks(settings.peak_count, settings.expected_samples)
        self.leveller = Leveller(settings.target_lufs, RATE)
        self.samples = 0
        self.closed = False
        self.out: Any = av.open(str(settings.part), "w", format="ogg")
        self.stream: Any = self.out.add_stream(
            "libopus",
            rate=RATE,
            options={
                "application": settings.application,
                "compression_level": str(settings.compression_level),
                "vbr": "constrained",
            },
        )
        ctx = self.stream.codec_context
        ctx.layout = "mono"
        ctx.format = "flt"
        ctx.bit_rate = settings.bitrate

    def push(self, samples: Samples, short_term: float, integrated: float) -> None:
        self._emit(self.leveller.push(samples, short_term, integrated))

    def finish(self) -> _Encoded:
        self._emit(self.leveller.drain())
        if self.samples:
            self.out.mux(self.stream.encode(None))
        self.close()
        return _Encoded(self.peaks.result(), self.leveller.loudness, self.leveller.gain_db)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.out.close()

    def _emit(self, chunks: list[Samples]) -> None:
        for samples in chunks:
            self.peaks.add(samples)
            frame = av.AudioFrame.from_ndarray(
                samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = self.samples
            frame.time_base = TIME_BASE
            self.samples += frame.samples
            self.out.mux(self.stream.encode(frame))


class _EncodeThread:
    """Runs the encode stage in a thread of its own, a few blocks behind the levels stage.

    PyAV releases the GIL inside the decoder, the filter graph and libopus, so
    the two stages overlap on two cores; only the Python between those calls
    takes turns.
    """

    def __init__(self, encoder: _Encoder) -> None:
        self.encoder = encoder
        self.blocks: queue.Queue[tuple[Samples, float, float] | None] = queue.Queue(QUEUE_BLOCKS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="voicebridge-encode", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (block := self.blocks.get()) is not None:
                self.encoder.push(*block)
        except BaseException as exc:  # noqa: BLE001 - raised again in the levels stage
            self.error = exc
            while self.blocks.get() is not None:  # unblock the producer until it stops
                pass

    def push(self, samples: Samples, short_term: float, integrated: float) -> None:
        if self.error is not None:
            raise self.error
        self.blocks.put((samples, short_term, integrated))

    def finish(self) -> _Encoded:
        self._stop()
        if self.error is not None:
            raise self.error
        return self.encoder.finish()

    def close(self) -> None:
        self._stop()
        self.encoder.close()

    def _stop(self) -> None:
        if self.thread.is_alive():
            self.blocks.put(None)
            self.thread.join()


class _Graph:
    """Resample and downmix to 48 kHz mono, measuring EBU R128 loudness on the way.

    ``ebur128`` reports its running short-term and integrated loudness as frame
    metadata, which the ``Leveller`` reads; ``asetnsamples`` cuts fixed blocks.
    Frames are pushed and blocks pulled on the graph's own buffer source and
    sink, and a pull is tried only once a block's worth of samples went in.
    """

    def __init__(self, first: Any) -> None:
        self.format = first.format.name
        self.rate = first.sample_rate
        self.layout = first.layout.name
        self.pts = 0
        self.pulled = 0
        self.graph = av.filter.Graph()
        chain = [
            self.graph.add_abuffer(
                format=self.format,
                sample_rate=self.rate,
                layout=self.layout,
                time_base=Fraction(1, self.rate),
            ),
            self.graph.add("aresample", f"{RATE}"),
            self.graph.add("aformat", f"sample_fmts=dbl:sample_rates={RATE}:channel_layouts=mono"),
            self.graph.add("ebur128", "metadata=1"),
            self.graph.add("asetnsamples", f"n={BLOCK}:p=0"),
            self.graph.add("abuffersink"),
        ]
        for a, b in zip(chain, chain[1:], strict=False):
            a.link_to(b)
        self.graph.configure()
        self.source, self.sink = chain[0], chain[-1]

    def accepts(self, frame: Any) -> bool:
        return bool(
            frame.format.name == self.format
            and frame.sample_rate == self.rate
            and frame.layout.name == self.layout
        )

    def push(self, frame: Any) -> list[tuple[Samples, float, float]]:
        if frame is not None:
            # The source's time base is 1/rate: a frame's pts is the samples before it.
            frame.pts = self.pts
            self.pts += frame.samples
            self.source.push(frame)
            if self.pts * RATE // self.rate - self.pulled < BLOCK + PULL_SLACK:
                return []
        else:
            self.source.push(None)
        out: list[tuple[Samples, float, float]] = []
        while True:
            try:
                result: Any = self.sink.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return out
            self.pulled += result.samples
            meta = result.metadata
            out.append(
                (
                    np.frombuffer(result.planes[0], dtype=np.float64, count=result.samples),
                    float(meta.get("lavfi.r128.S", "-inf")),
                    float(meta.get("lavfi.r128.I", "-inf")),
                )
            )
