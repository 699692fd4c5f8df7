"""Synthesised Mandarin with known text, for the transcription tests and bench/asr.py.

espeak-ng (Debian's package) speaks Mandarin poorly from characters (its dictionary
misses many and spells them in English), so the text goes through pypinyin first
and is spoken by espeak-ng's pinyin voice. It is an adult-like robotic voice: far
from a child's, which the README's limits say.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

RATE = 22_050  # what espeak-ng writes

NEUTRAL = (
    "今天早上我们上了语文课，老师给我们讲了一个故事。",
    "中午我们在食堂吃了米饭和青菜。",
    "下午我们上了体育课，我和同学一起跑步。",
    "晚上我在宿舍写作业，然后给奶奶打了电话。",
    "这个星期天我们要去山上种树。",
    "我的好朋友叫小红，她住在我的旁边。",
    "爸爸妈妈在城里打工，过年的时候会回家。",
    "我最喜欢的动物是小狗，因为它很可爱。",
    "明天有数学考试，我要早点睡觉。",
    "学校的图书馆有很多书，我每天都去看书。",
    "外面下雨了，我们不能去操场玩。",
    "老师说我的字写得比以前好多了。",
)

# (phrase, urgency triage must reach): the triage word lists name these.
RISK = (
    ("我不想活了。", "critical"),
    ("我想自杀。", "critical"),
    ("我真的想死。", "critical"),
    ("我想从楼上跳楼。", "critical"),
    ("我想喝农药。", "critical"),
    ("我活不下去了。", "critical"),
    ("他每天都打我。", "high"),
    ("我害怕回家。", "high"),
)


def available() -> bool:
    return shutil.which("espeak-ng") is not None


def _pinyin(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    words = lazy_pinyin(text, style=Style.TONE3)
    return " ".join(words).replace("，", ",").replace("。", ".")


def say(text: str, *, speed: int = 130) -> np.ndarray:
    """One sentence as 16-bit samples at 22.05 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        subprocess.run(
            ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", str(speed), "-g", "2", "-w", str(out)]
            + [_pinyin(text)],
            check=True,
            capture_output=True,
        )
        with wave.open(str(out)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).copy()


@dataclass(frozen=True)
class Recording:
    path: Path
    text: str
    seconds: float
    risk_at: float | None = None


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype(np.int16).tobytes())
    return path


def recording(
    path: Path, sentences: list[str], *, neutral_seconds: float = 0.0, pause: float = 0.6
) -> Recording:
    """Neutral sentences until ``neutral_seconds`` have passed, then ``sentences``."""
    gap = np.zeros(int(RATE * pause), dtype=np.int16)
    parts: list[np.ndarray] = []
    spoken: list[str] = []
    total = 0
    i = 0
    while total < neutral_seconds * RATE:
        sentence = NEUTRAL[i % len(NEUTRAL)]
        piece = say(sentence)
        parts += [piece, gap]
        spoken.append(sentence)
        total += len(piece) + len(gap)
        i += 1
    risk_at = total / RATE if neutral_seconds else None
    for sentence in sentences:
        parts += [say(sentence), gap]
        spoken.append(sentence)
    samples = np.concatenate(parts) if parts else gap
    write_wav(path, samples)
    return Recording(path, "".join(spoken), len(samples) / RATE, risk_at)


def phone_quality(src: Path, dst: Path, codec: str) -> Path:
    """8 kHz as a phone sends it: ``pcm_s16le`` in WAV, or AMR-NB (12.2 kbit/s) in .amr."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        if codec == "amr_nb":
            stream = out.add_stream("libopencore_amrnb", rate=8000)
            stream.bit_rate = 12_200
        else:
            stream = out.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=8000)
        for frame in inp.decode(audio=0):
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return dst
