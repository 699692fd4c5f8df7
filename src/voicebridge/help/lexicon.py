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

Chinese patterns are also matched in pinyin (converted with pypinyin) where the
child typed pinyin, alone or mixed with characters. English words of five
letters or more also match one-letter typos (``suicde``, ``myslef``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from pypinyin import lazy_pinyin

from voicebridge.help import textnorm
from voicebridge.help.models import URGENCY_RANK, Urgency

CATEGORIES = ("suicide", "self_harm", "sexual_abuse", "physical_abuse", "neglect", "bullying")
_LEVELS = (Urgency.critical, Urgency.high)
_SYNTAX = set("()|?*")


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
    script: str  # zh, en or py
    regex: re.Pattern[str]


def _han_pinyin(segment: str) -> str:
    return "".join(textnorm.strip_marks(s) for s in lazy_pinyin(segment, v_to_u=True))


def _compile(
    pattern: str, script: str, extra_t2s: dict[str, str], slang: dict[str, str] | None = None
) -> str:
    """A pattern in the data files' syntax as a regular expression for one form."""
    pattern = pattern.replace("**", "\x01")
    if script == "en":
        pattern = re.sub(r"(^|\s)\x01(\s|$)", "\x01", pattern.strip())
        pattern = re.sub(r"(^|\s)\*(\s|$)", "\x00", pattern)
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if not literal:
            return
        text = "".join(literal)
        literal.clear()
        if script == "zh":
            text = textnorm.squeeze_repeats(textnorm.fold(text, extra_t2s).replace(" ", ""))
            out.append(re.escape(text))
        elif script == "py":
            text = textnorm.fold(text).replace(" ", "").replace("'", "")
            out.append(re.escape(text))
        elif script == "zh>py":
            text = textnorm.fold(text, extra_t2s).replace(" ", "")
            out.append(re.escape(_han_pinyin(text)))
        else:
            words: list[str] = []
            for w in textnorm.fold(text).replace("'", "").split(" "):
                w = textnorm.squeeze_repeats(w)
                # The text's slang is expanded ("dont" → "do not"); so is the pattern's.
                words.extend((slang or {}).get(w, w).split(" ") if w else [w])
            out.append(" ?".join(re.escape(w) for w in words))

    for i, ch in enumerate(pattern):
        if ch == "?" and literal:
            # "X?" makes the one character before it optional (的? → "de" optional in pinyin).
            last = literal.pop()
            flush()
            literal.append(last)
            out.append("(?:")
            flush()
            out.append(")?")
            continue
        if ch in _SYNTAX or ch in "\x00\x01":
            flush()
            if ch == "(":
                out.append("(?:")
            elif ch in ")|?":
                out.append(ch)
            elif ch == "\x00":
                out.append(" ?(?:[^ |]+ ){0,3}")
            elif ch == "\x01":
                out.append(
                    {"en": " ?(?:[^ |]+ ){0,8}", "zh": "[^|]{0,12}?"}.get(script, "[a-z]{0,40}?")
                )
            elif script == "en" and i > 0 and pattern[i - 1].isalnum():
                out.append("[^ |]*")
            elif script == "zh":
                out.append("[^|]{0,4}?")
            else:
                out.append("[a-z]{0,16}?")
        else:
            literal.append(ch)
    flush()
    body = "".join(out)
    if script == "en":
        return rf"(?<![^ |])(?:{body})(?![^ |])"
    return body


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    folder = resources.files("voicebridge.help").joinpath("data/risk")
    data: dict[str, Any] = {"categories": {}}
    for name in CATEGORIES:
        data["categories"][name] = json.loads(folder.joinpath(f"{name}.json").read_text("utf-8"))
    data["exclusions"] = json.loads(folder.joinpath("_exclusions.json").read_text("utf-8"))
    data["normalise"] = json.loads(folder.joinpath("_normalise.json").read_text("utf-8"))
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
    ) -> None:
        """``entries`` are (urgency, category, script, pattern); script is zh, en or pinyin."""
        self.extra_t2s: dict[str, str] = dict(normalise.get("t2s_extra", {}))
        self.slang: dict[str, str] = {
            textnorm.squeeze_repeats(textnorm.fold(k)): textnorm.squeeze_repeats(textnorm.fold(v))
            for k, v in normalise.get("slang", {}).items()
        }
        protected = normalise.get("not_typos", [])
        self._not_typos = frozenset(textnorm.squeeze_repeats(w) for w in protected)
        rules: list[_Rule] = []
        vocab: set[str] = set()
        for urgency, category, script, pattern in entries:
            if script == "zh":
                rules.append(self._rule(urgency, category, pattern, "zh"))
                if textnorm.HAN.search(pattern):
                    rules.append(self._rule(urgency, category, pattern, "zh>py"))
            elif script == "pinyin":
                rules.append(self._rule(urgency, category, pattern, "py"))
            else:
                rules.append(self._rule(urgency, category, pattern, "en"))
                for word in re.findall(r"[a-z]+(?![a-z]*\*)", textnorm.fold(pattern)):
                    if len(word) >= 3:
                        vocab.add(textnorm.squeeze_repeats(word))
        rules.sort(key=lambda r: -URGENCY_RANK[r.urgency])
        self.rules = tuple(rules)
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
                elif script == "pinyin":
                    excl.append(("py", re.compile(_compile(pattern, "py", self.extra_t2s))))
                elif script == "en":
                    excl.append(
                        ("en", re.compile(_compile(pattern, "en", self.extra_t2s, self.slang)))
                    )
        self._exclusions = tuple(excl)

    def _rule(self, urgency: Urgency, category: str, pattern: str, script: str) -> _Rule:
        regex = re.compile(_compile(pattern, script, self.extra_t2s, self.slang))
        form = "py" if script in {"py", "zh>py"} else script
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
        return cls(entries, data.get("exclusions", {}), data.get("normalise", {}))

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

    def find(self, text: str) -> Finding | None:
        """The most urgent phrase in ``text``, or None."""
        f = textnorm.forms(text, extra_t2s=self.extra_t2s, slang=self.slang)
        texts = {"zh": [(f.han, "")], "en": [(v, "") for v in self._fix_typos(f.latin)]}
        texts["py"] = list(f.pinyin_runs)
        blocked: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for form, regex in self._exclusions:
            for n, (s, _origin) in enumerate(texts[form]):
                for m in regex.finditer(s):
                    blocked.setdefault((form, n), []).append(m.span())
        for rule in self.rules:
            for n, (s, origin) in enumerate(texts[rule.script]):
                if not s:
                    continue
                spans = blocked.get((rule.script, n), [])
                for m in rule.regex.finditer(s):
                    a, b = m.span()
                    if a == b or any(a < y and x < b for x, y in spans):
                        continue
                    if rule.script == "py" and "l" not in origin[a:b]:
                        continue  # all from characters: the Chinese form decides
                    return Finding(rule.urgency, rule.category, rule.phrase)
        return None


@lru_cache(maxsize=1)
def shipped() -> Lexicon:
    return Lexicon.build(_shipped())


def shipped_data() -> dict[str, Any]:
    return _shipped()
