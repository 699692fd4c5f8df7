"""Risk phrases by category, matched against normalised text (see ``textnorm``).

The phrases live in ``help/data/risk/*.json``, one file per category, each with
``critical`` and ``high`` lists in three scripts (``zh``, ``en``, ``pinyin``);
``help/data/risk/_exclusions.json`` holds benign idioms (想死你了, dying to …)
whose words must not count, and ``_normalise.json`` the slang and the extra
Traditional→Simplified characters. A pattern is a phrase with a little syntax:

- ``*`` on its own: a gap (up to 4 Chinese characters, 3 English words or
  16 pinyin letters; never across a sentence end in Chinese); ``**`` a wider
  one (12 characters, 8 words, 40 letters): "in the same sentence";
- ``word*`` (English): any word starting with ``word``;
- ``(a|b)``: either; ``(...)?``: optional.

- ``{NAME}``: any phrase of the class NAME in ``_cues.json`` (``{SELF}`` 我|俺|…,
  ``{POISON}`` 农药|老鼠药|…): one rule "wants + swallow + a poison" covers what
  a list of phrases only covers for the poisons and verbs someone wrote down.

Chinese patterns are also matched in pinyin (converted with pypinyin) where the
child typed pinyin, alone or mixed with characters, and in the pinyin of the
Chinese text itself, for characters typed or heard wrong (``homophones``; critical
phrases only).
English words of five letters or more also match one-letter typos (``suicde``,
``myslef``).

How matches combine (``Lexicon.find``), so that no single list decides alone:

- a critical phrase right after a negation (我不会自杀, I would never kill myself)
  counts as high, not critical and not nothing: a person still reads it;
- a critical phrase that only partly overlaps a benign idiom (want to die lol)
  counts as high; one inside an idiom (想死你了) does not count;
- ``weak`` phrases (distress, farewells, plans: 好累, goodbye everyone) never
  raise a text alone; two of them make it high, and one beside a high suicide
  or self-harm phrase makes it critical.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from voicebridge.help import homophones, textnorm
from voicebridge.help.models import URGENCY_RANK, Urgency
from voicebridge.help.patterns import compile_pattern as _compile
from voicebridge.help.patterns import expand

CATEGORIES = ("suicide", "self_harm", "sexual_abuse", "physical_abuse", "neglect", "bullying")
_LEVELS = (Urgency.critical, Urgency.high)
# A high finding in one of these beside a weak one in one of these is critical.
_GRAVE = frozenset({"suicide", "self_harm"})
# A question (是不是死了比较好) is not a negation.
_QUESTION = re.compile(r"(.)不\1$")


@dataclass(frozen=True)
class Finding:
    urgency: Urgency
    category: str
    phrase: str
    """The pattern that matched, as written in the data file."""


@dataclass(frozen=True)
class _Rule:
    urgency: Urgency
    category: str
    phrase: str
    script: str  # zh, en, py (typed pinyin) or hz (the sound of the Chinese text)
    regex: re.Pattern[str]
    chars: frozenset[str] = frozenset()
    """The Chinese characters of the pattern (a sound-alike must differ from them)."""


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    folder = resources.files("voicebridge.help").joinpath("data/risk")
    data: dict[str, Any] = {"categories": {}}
    for name in CATEGORIES:
        data["categories"][name] = json.loads(folder.joinpath(f"{name}.json").read_text("utf-8"))
    for key, name in (
        ("exclusions", "_exclusions"),
        ("normalise", "_normalise"),
        ("cues", "_cues"),
    ):
        data[key] = json.loads(folder.joinpath(f"{name}.json").read_text("utf-8"))
    return data


def _levenshtein1(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one edit apart (insert, delete, replace or swap)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class Lexicon:
    """Compiled risk phrases and exclusions; build once with :func:`shipped` or :meth:`build`."""

    def __init__(
        self,
        entries: list[tuple[Urgency, str, str, str]],
        exclusions: dict[str, list[str]],
        normalise: dict[str, Any],
        cues: dict[str, Any] | None = None,
        weak: list[tuple[str, str, str]] | None = None,
    ) -> None:
        """``entries`` are (urgency, category, script, pattern); script is zh, en or pinyin.
        ``weak`` are (category, script, pattern): phrases that only count together."""
        cues = cues or {}
        self.extra_t2s: dict[str, str] = dict(normalise.get("t2s_extra", {}))
        self.slang: dict[str, str] = {
            textnorm.squeeze_repeats(textnorm.fold(k)): textnorm.squeeze_repeats(textnorm.fold(v))
            for k, v in normalise.get("slang", {}).items()
        }
        self.bridge: dict[str, str] = {
            textnorm.squeeze_repeats(k): v for k, v in normalise.get("bridge", {}).items()
        }
        self.emoji: dict[str, list[str]] = dict(normalise.get("emoji", {}))
        self._fillers = re.compile("[" + "".join(normalise.get("fillers", [])) + "]")
        self._macros: dict[str, dict[str, list[str]]] = cues.get("classes", {})
        neg = cues.get("negation", {})
        self._neg_zh = re.compile("(?:" + "|".join(neg.get("zh", ["不"])) + ")$")
        self._neg_en = re.compile(r"(?:^| )(?:" + "|".join(neg.get("en", ["not"])) + ")$")
        guard = cues.get("sound_alike", {})
        self._guard = homophones.Guard(
            common=frozenset(guard.get("common", "")),
            measure=frozenset(guard.get("measure", "")),
            numerals=frozenset(guard.get("numerals", "")),
        )
        protected = normalise.get("not_typos", [])
        self._not_typos = frozenset(textnorm.squeeze_repeats(w) for w in protected)
        rules: list[_Rule] = []
        vocab: set[str] = set()
        for urgency, category, script, pattern in entries:
            rules.extend(self._rules(urgency, category, script, pattern, vocab))
        rules.sort(key=lambda r: -URGENCY_RANK[r.urgency])
        self.rules = tuple(rules)
        # One pass that tells whether any critical phrase could sound like the text at all:
        # most texts match none, and then the hundreds of sound-alike rules are skipped.
        hz = [r.regex.pattern for r in rules if r.script == "hz" and r.urgency is Urgency.critical]
        self._hz_any = re.compile("|".join(f"(?:{p})" for p in hz)) if hz else None
        weak_rules: list[_Rule] = []
        for category, script, pattern in weak or []:
            weak_rules.extend(self._rules(Urgency.high, category, script, pattern, vocab))
        self.weak = tuple(weak_rules)
        self._vocab = frozenset(vocab)
        self._vocab_by_first: dict[str, tuple[str, ...]] = {}
        for word in vocab:
            self._vocab_by_first[word[0]] = (*self._vocab_by_first.get(word[0], ()), word)
        excl: list[tuple[str, re.Pattern[str]]] = []
        for script, patterns in exclusions.items():
            for pattern in patterns:
                if script == "zh":
                    excl.append(("zh", re.compile(_compile(pattern, "zh", self.extra_t2s))))
                    excl.append(("py", re.compile(_compile(pattern, "zh>py", self.extra_t2s))))
                    excl.append(("hz", re.compile(_compile(pattern, "zh>hz", self.extra_t2s))))
                elif script == "pinyin":
                    excl.append(("py", re.compile(_compile(pattern, "py", self.extra_t2s))))
                elif script == "en":
                    excl.append(
                        ("en", re.compile(_compile(pattern, "en", self.extra_t2s, self.slang)))
                    )
        self._exclusions = tuple(excl)

    def _rules(
        self, urgency: Urgency, category: str, script: str, pattern: str, vocab: set[str]
    ) -> list[_Rule]:
        """The compiled forms of one pattern; English words go into the typo vocabulary."""
        lang = "zh" if script == "zh" else "en" if script == "en" else None
        full = expand(pattern, self._macros.get(lang, {})) if lang else pattern
        if script == "zh":
            out = [self._rule(urgency, category, pattern, full, "zh")]
            if textnorm.HAN.search(full):
                out.append(self._rule(urgency, category, pattern, full, "zh>py"))
                chars = frozenset(textnorm.HAN.findall(textnorm.fold(full, self.extra_t2s)))
                hz = self._rule(urgency, category, pattern, full, "zh>hz")
                out.append(_Rule(hz.urgency, hz.category, hz.phrase, "hz", hz.regex, chars))
            return out
        if script == "pinyin":
            return [self._rule(urgency, category, pattern, full, "py")]
        for word in re.findall(r"[a-z]+(?![a-z]*\*)", textnorm.fold(full)):
            if len(word) >= 3:
                vocab.add(textnorm.squeeze_repeats(word))
        return [self._rule(urgency, category, pattern, full, "en")]

    def _rule(self, urgency: Urgency, category: str, pattern: str, full: str, script: str) -> _Rule:
        regex = re.compile(_compile(full, script, self.extra_t2s, self.slang))
        form = {"py": "py", "zh>py": "py", "zh>hz": "hz"}.get(script, script)
        return _Rule(urgency, category, pattern, form, regex)

    @classmethod
    def build(
        cls,
        data: dict[str, Any],
        *,
        critical: list[str] | None = None,
        high: list[str] | None = None,
    ) -> Lexicon:
        """From the data files' shape; ``critical``/``high`` replace that level's phrases."""
        entries: list[tuple[Urgency, str, str, str]] = []
        overrides = {Urgency.critical: critical, Urgency.high: high}
        for level in _LEVELS:
            override = overrides[level]
            if override is not None:
                for phrase in override:
                    script = "zh" if textnorm.HAN.search(phrase) else "en"
                    entries.append((level, "other", script, phrase))
                continue
            for category, spec in data["categories"].items():
                for script, phrases in spec.get(level.value, {}).items():
                    entries.extend((level, category, script, p) for p in phrases)
        weak = [
            (category, script, p)
            for category, spec in data["categories"].items()
            for script, phrases in spec.get("weak", {}).items()
            for p in phrases
        ]
        return cls(
            entries,
            data.get("exclusions", {}),
            data.get("normalise", {}),
            data.get("cues", {}),
            weak,
        )

    def _fix_typos(self, latin: str) -> list[str]:
        """The Latin form with misspelt words replaced by the lexicon's words; one variant
        per reading when a word could be more than one (wnt: want or went), at most 8."""
        variants = [latin.split(" ")]
        for i, w in enumerate(variants[0]):
            if len(w) < 3 or w in self._vocab or w in self._not_typos or not w.isalpha():
                continue
            readings = sorted(c for c in self._vocab_by_first.get(w[0], ()) if self._typo_of(w, c))
            if readings:
                variants = [[*v[:i], r, *v[i + 1 :]] for v in variants for r in readings][:8]
        return [" ".join(v) for v in variants]

    @staticmethod
    def _typo_of(w: str, candidate: str) -> bool:
        """Five letters or more: one edit. Three or four: two neighbours swapped (wnat, dei),
        or the word typed without its vowel (wnt, kll); a short word's other edits are too
        often another word (did/died, dad/dead)."""
        if not _levenshtein1(w, candidate):
            return False
        if len(candidate) >= 5:
            return True
        if len(w) < len(candidate):
            return not any(c in "aeiouy" for c in w)
        return len(w) == len(candidate) and sorted(w) == sorted(candidate)

    def _texts(self, text: str) -> dict[str, list[tuple[str, str]]]:
        """Each form of ``text`` the rules are matched against (with origin for typed pinyin)."""
        f = textnorm.forms(
            text, extra_t2s=self.extra_t2s, slang=self.slang, bridge=self.bridge, emoji=self.emoji
        )
        han = [(f.han, "")]
        unfilled = self._fillers.sub("", f.han)
        if unfilled != f.han:
            han.append((unfilled, ""))  # 我不想嗯活了: speech fillers inside a phrase
        runs = list(f.pinyin_runs)
        for run, origin in f.pinyin_runs:
            # 想去shi: a dialect speaker's s typed as sh, at the end where the key word sits.
            if "h" in origin and origin.endswith("lll") and re.search("[zcs]h[a-z]$", run):
                folded = homophones.fold(run[-3:])
                runs.append((run[:-3] + folded, origin[: len(run) - 3] + "l" * len(folded)))
        return {
            "zh": han,
            "en": [(v, "") for v in self._fix_typos(f.latin)],
            "py": runs,
            "hz": [(f.han, "")] if textnorm.HAN.search(f.han) else [],
        }

    def find(self, text: str) -> Finding | None:
        """The most urgent finding in ``text``, or None (see the module's notes on combining)."""
        texts = self._texts(text)
        sounds = {n: homophones.sound_form(s) for n, (s, _) in enumerate(texts["hz"])}
        views: dict[str, list[str]] = {k: [s for s, _ in v] for k, v in texts.items()}
        views["hz"] = [sounds[n].text for n in range(len(sounds))]
        if self._hz_any is None or not any(self._hz_any.search(v) for v in views["hz"]):
            views["hz"] = []
        blocked: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for form, regex in self._exclusions:
            for n, s in enumerate(views[form]):
                for m in regex.finditer(s):
                    if form == "hz" and not {m.start(), m.end()} <= sounds[n].bounds:
                        continue  # 想死弟 is not in 想四掉 (xiangsidiao): whole syllables only
                    blocked.setdefault((form, n), []).append(m.span())
        held: Finding | None = None  # the first high finding (or critical counted as high)
        for rule in self.rules:
            if held is not None and rule.urgency is not Urgency.critical:
                break  # all critical rules tried; a high finding is already held
            level = self._match(rule, texts, views, sounds, blocked)
            if level is Urgency.critical:
                return Finding(Urgency.critical, rule.category, rule.phrase)
            if level is not None and held is None:
                held = Finding(Urgency.high, rule.category, rule.phrase)
        weak = [r for r in self.weak if self._match(r, texts, views, sounds, blocked)]
        if held is not None:
            if held.category in _GRAVE and any(r.category in _GRAVE for r in weak):
                return Finding(Urgency.critical, held.category, held.phrase)
            return held
        if len({r.phrase for r in weak}) >= 2:
            return Finding(Urgency.high, weak[0].category, " + ".join(r.phrase for r in weak[:2]))
        return None

    def _match(
        self,
        rule: _Rule,
        texts: dict[str, list[tuple[str, str]]],
        views: dict[str, list[str]],
        sounds: dict[int, homophones.SoundForm],
        blocked: dict[tuple[str, int], list[tuple[int, int]]],
    ) -> Urgency | None:
        """The urgency ``rule`` gives the text: its own, high (negated, or partly inside a
        benign idiom), or None."""
        if rule.script == "hz" and rule.urgency is not Urgency.critical:
            return None  # sound-alikes only for critical phrases: 题我 is not 踢我
        capped = False
        for n, s in enumerate(views[rule.script]):
            if not s:
                continue
            origin = texts[rule.script][n][1]
            spans = blocked.get((rule.script, n), [])
            for m in rule.regex.finditer(s):
                a, b = m.span()
                if a == b:
                    continue
                if rule.script == "py" and "l" not in origin[a:b]:
                    continue  # all from characters: the Chinese form decides
                if rule.script == "hz" and not homophones.accepted(
                    sounds[n], a, b, rule.chars, self._guard
                ):
                    continue
                overlaps = [(x, y) for x, y in spans if a < y and x < b]
                if any((x <= a and b <= y) or (a <= x and y <= b) for x, y in overlaps):
                    continue
                if overlaps or self._negated(rule.script, s, a, sounds.get(n)):
                    capped = True
                    continue
                return rule.urgency
        if capped and rule.urgency is Urgency.critical:
            return Urgency.high
        return None

    def _negated(self, script: str, s: str, a: int, sound: homophones.SoundForm | None) -> bool:
        """Whether a negation stands right before offset ``a`` (我不会自杀, would never die)."""
        if script == "zh":
            if a >= 2 and s[a - 1] == "不" and s[a - 2] == s[a]:
                return False  # 想不想死: a question, the phrase starts at the second 想
            return self._neg_zh.search(_QUESTION.sub("", s[max(0, a - 3) : a])) is not None
        if script == "en":
            return self._neg_en.search(s[max(0, a - 20) : a].rstrip()) is not None
        if script == "hz" and sound is not None:
            idx = [i for i, st in enumerate(sound.starts) if st == a]
            if idx:
                i = idx[0]
                window = _QUESTION.sub("", sound.han[max(0, i - 3) : i])
                return self._neg_zh.search(window) is not None
        return False


@lru_cache(maxsize=1)
def shipped() -> Lexicon:
    return Lexicon.build(_shipped())


def shipped_data() -> dict[str, Any]:
    return _shipped()
