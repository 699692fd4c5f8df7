"""Waveform peaks and one-pass loudness normalisation, in bounded memory.

Both work on the decoded 48 kHz mono stream as it goes past, because a
recording is never held whole: a 2-hour story must cost what a 2-minute
message costs.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float64]

# Loudness below this is silence or hiss: never boost towards the target on it.
SILENCE_LUFS = -60.0
MAX_BOOST_DB = 20.0
MAX_CUT_DB = -12.0
# Gain may drift this fast once settled, so a parent who moves closer to the
# phone is followed without audible pumping.
SLEW_DB_PER_S = 3.0
CEILING = 0.97
# A limiter cut recovers over ~0.25 s: fast enough not to leave a hole after a
# cough, slow enough not to distort.
RELEASE_PER_S = 40.0


class Peaks:
    """Maximum absolute sample per bucket, for the waveform a child sees.

    The bucket size comes from the probe's duration estimate. The estimate can
    be missing or wrong, so up to ``2 * count`` buckets are kept and pairs are
    merged (doubling the bucket size) whenever that overflows; ``result``
    then folds whatever is there into exactly ``count`` values.
    """

    def __init__(self, count: int, expected_samples: int | None) -> None:
        self.count = count
        self.size = max(1, (expected_samples or 48000 * 60) // (2 * count))
        self.buckets: list[float] = []
        self.fill = 0
        self.current = 0.0

    def add(self, samples: Samples) -> None:
        pos = 0
        n = len(samples)
        while pos < n:
            take = min(self.size - self.fill, n - pos)
            part = samples[pos : pos + take]
            self.current = max(self.current, float(np.max(np.abs(part))))
            self.fill += take
            pos += take
            if self.fill == self.size:
                self._close()

    def _close(self) -> None:
        self.buckets.append(self.current)
        self.current = 0.0
        self.fill = 0
        if len(self.buckets) > 2 * self.count:
            pairs = self.buckets[0::2], self.buckets[1::2] + [0.0]
            self.buckets = [max(a, b) for a, b in zip(*pairs, strict=False)]
            self.size *= 2

    def result(self) -> list[float]:
        buckets = self.buckets + ([self.current] if self.fill else [])
        if not buckets:
            return [0.0] * self.count
        n = len(buckets)
        out = []
        for i in range(self.count):
            lo = i * n // self.count
            hi = max(lo + 1, (i + 1) * n // self.count)
            out.append(min(1.0, round(max(buckets[lo:hi]), 4)))
        return out


class Leveller:
    """Normalises speech towards a target loudness in one pass, with lookahead.

    Integrated loudness (EBU R128, measured by ffmpeg's ``ebur128`` filter
    upstream) is only known at the end, and we do not decode twice. So the
    gain follows the *running* integrated loudness, which settles within
    seconds on speech and then barely moves; until 3 s have been measured it
    follows the short-term loudness. Output is delayed by ``lookahead_s``
    (a small, fixed buffer), so the opening words are already played at the
    gain measured on them rather than ramping up from 0 dB. After the first
    setting the gain moves at most ``SLEW_DB_PER_S``, and a peak limiter with
    instant attack and a short release keeps boosted speech from clipping.

    We chose this over ``loudnorm`` (single-pass dynamic mode): that filter
    works at 192 kHz internally and was several times slower, and its
    frame-by-frame dynamic range compression flattens a bedtime story's
    whispers and exclamations, which a parent wants preserved.
    """

    def __init__(self, target_lufs: float, rate: int = 48000, lookahead_s: float = 3.0) -> None:
        self.target = target_lufs
        self.rate = rate
        self.lookahead = int(lookahead_s * rate)
        self.queue: deque[Samples] = deque()
        self.queued = 0
        self.measured = 0
        self.desired_db: float | None = None
        self.started = False
        self.gain_db = 0.0
        self.applied = 1.0
        self.limit = 1.0
        self.loudness: float | None = None

    def push(self, samples: Samples, short_term: float, integrated: float) -> list[Samples]:
        """Queue a frame with the loudness measured up to it; return frames now due."""
        self.measured += len(samples)
        basis = integrated if self.measured >= 3 * self.rate else short_term
        if math.isfinite(integrated) and integrated > -70.0:
            self.loudness = integrated
        if math.isfinite(basis) and basis > SILENCE_LUFS:
            self.desired_db = min(MAX_BOOST_DB, max(MAX_CUT_DB, self.target - basis))
        self.queue.append(samples)
        self.queued += len(samples)
        out = []
        while self.queued > self.lookahead:
            out.append(self._release())
        return out

    def drain(self) -> list[Samples]:
        return [self._release() for _ in range(len(self.queue))]

    def _release(self) -> Samples:
        samples = self.queue.popleft()
        self.queued -= len(samples)
        n = len(samples)
        if self.desired_db is not None:
            if not self.started:
                self.gain_db = self.desired_db
                self.started = True
            else:
                step = SLEW_DB_PER_S * n / self.rate
                delta = self.desired_db - self.gain_db
                self.gain_db += max(-step, min(step, delta))
        wanted = 10 ** (self.gain_db / 20)
        peak = float(np.max(np.abs(samples))) if n else 0.0
        self.limit = min(1.0, self.limit * (1 + RELEASE_PER_S * n / self.rate))
        if peak * wanted * self.limit > CEILING:
            self.limit = CEILING / (peak * wanted)
        target = wanted * self.limit
        if target < self.applied:
            gains: Samples | float = target
        else:
            gains = np.linspace(self.applied, target, n, endpoint=False)
        self.applied = target
        out: Samples = np.clip(samples * gains, -1.0, 1.0)
        return out
