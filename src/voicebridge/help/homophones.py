"""Sound-alike characters: a risk phrase written with the wrong character.

A child typing pinyin picks the first candidate the input method offers
(自沙 for 自杀, 跳搂 for 跳楼, 意四 for 意思), a dialect speaker does not tell
``sh`` from ``s`` (想屎), and speech recognition writes whatever word sounds
right (一了白了). None of these is in a word list, and listing them one by one
is what made triage miss texts nobody had seen. So the Chinese text is also
read as pinyin without tones, with ``zh ch sh`` folded to ``z c s``, and the
Chinese phrases are matched there too (their pinyin forms are folded the same
way).

A sound-alike match counts only when it is not an ordinary word that happens to
sound the same: at least one character must differ from the phrase's own
characters, and no differing character may be a common character that collides
with many others (``common``), a number followed by a measure word (我想四点走),
or part of a known word (相似, 周末, 零花钱: jieba's dictionary) that is not made
of the phrase's characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pypinyin import lazy_pinyin

from voicebridge.help import textnorm


def fold(pinyin: str) -> str:
    """``zh ch sh`` → ``z c s`` (the southern merger; also typing slips); ``liao`` → ``le``
    (了 has both readings, and pypinyin picks by context: 一了白了 is yi liao bai le)."""
    return pinyin.replace("zh", "z").replace("ch", "c").replace("sh", "s").replace("liao", "le")


@dataclass(frozen=True)
class SoundForm:
    """The Chinese form as folded pinyin, with where each character's syllable starts."""

    text: str
    han: str
    starts: tuple[int, ...]
    """Offset in ``text`` of each character of ``han`` (-1 for ``|`` and digits)."""
    bounds: frozenset[int]
    """Offsets where a syllable starts or ends."""

    def chars(self, a: int, b: int) -> list[int]:
        """Indices in ``han`` of the characters whose syllables ``text[a:b]`` covers."""
        return [i for i, s in enumerate(self.starts) if s >= 0 and a <= s < b]


def sound_form(han: str) -> SoundForm:
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    for segment in re.split(r"([^\u3400-\u9fff\uf900-\ufaff]+)", han):
        if not segment:
            continue
        if not textnorm.HAN.match(segment):
            out.append("#" * len(segment))
            starts.extend([-1] * len(segment))
            pos += len(segment)
            continue
        for syllable in lazy_pinyin(segment, v_to_u=True):
            s = fold(textnorm.strip_marks(syllable))
            starts.append(pos)
            out.append(s)
            pos += len(s)
    bounds = {s for s in starts if s >= 0} | {pos}
    text = "".join(out)
    # A syllable also ends where the next non-letter starts.
    bounds |= {i for i, c in enumerate(text) if c == "#"}
    return SoundForm(text, han, tuple(starts), frozenset(bounds))


@dataclass(frozen=True)
class Guard:
    common: frozenset[str]
    """Characters never taken as a slip for another (是 时 事 …: they collide with too much)."""
    measure: frozenset[str]
    """Measure words and units: 四 before one of them is a number, not 死."""
    numerals: frozenset[str]


@lru_cache(maxsize=1)
def _words() -> frozenset[str]:
    """Words of two to four characters from jieba's dictionary (its ``dict.txt``: word,
    frequency, part of speech), read once and only when a sound-alike needs checking."""
    found: set[str] = set()
    with resources.files("jieba").joinpath("dict.txt").open(encoding="utf-8") as lines:
        for line in lines:
            word, freq, *_ = line.split(" ")
            if 2 <= len(word) <= 4 and int(freq) >= 3:
                found.add(word)
    return frozenset(found)


def accepted(form: SoundForm, a: int, b: int, phrase_chars: frozenset[str], guard: Guard) -> bool:
    """Whether ``form.text[a:b]`` (a match of a phrase made of ``phrase_chars``) is a slip."""
    if a not in form.bounds or b not in form.bounds:
        return False
    idx = form.chars(a, b)
    if len(idx) < 2:
        return False
    han = form.han
    changed = [i for i in idx if han[i] not in phrase_chars]
    if not changed:
        return False  # the characters themselves: the Chinese form decides
    words = _words()
    for i in changed:
        ch = han[i]
        if ch in guard.common:
            return False
        if ch in guard.numerals and i + 1 < len(han) and han[i + 1] in guard.measure:
            return False
        for length in (2, 3, 4):
            for s in range(max(0, i - length + 1), i + 1):
                w = han[s : s + length]
                if len(w) == length and w in words and not set(w) <= phrase_chars:
                    return False
    return True
