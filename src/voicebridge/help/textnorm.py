"""Text normalisation shared by risk triage and the contact filter.

A child writes on a cheap phone with whatever input method is at hand:
Traditional or Simplified characters, full-width letters, pinyin with or
without tones, emoji between words, letters repeated for emphasis. Before any
word list is consulted the text is brought to one form:

- Unicode NFKC (full-width ``ＱＱ１３８`` becomes ``qq138``, circled digits
  become digits), then case folding;
- tone marks and tone numbers are dropped from Latin letters (``wǒ xiǎng sǐ``
  and ``wo3 xiang3 si3`` both become ``wo xiang si``);
- emoji, pictographs and zero-width characters become spaces;
- Traditional characters become Simplified with OpenCC's ``t2s`` data
  (``opencc-python-reimplemented``), plus a few single characters from the
  data file that OpenCC leaves alone because they are ambiguous out of context;
- runs of one repeated character collapse to one (``soooo`` → ``so``,
  ``死死死`` → ``死``); word lists are collapsed the same way, so ``kill``
  still matches;
- Chinese characters are also turned into pinyin with ``pypinyin`` so that a
  child who types part of a phrase in pinyin (``我想si``) is still understood.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from opencc import OpenCC
from pypinyin import lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Sentence ends: a phrase is not matched across them in Chinese.
_STRONG_BREAK = set("。！？!?；;\n\r…")
_TONE_DIGIT = re.compile(r"(?<=[aeiouüngr])[1-5](?![0-9])")
_REPEAT = re.compile(r"(.)\1+")
_LONG_REPEAT = re.compile(r"(.)\1{2,}")
_LEET = str.maketrans({"1": "i", "3": "e", "0": "o", "4": "a", "5": "s", "@": "a", "$": "s"})
_LEET_WORD = re.compile(r"[a-z@$]*[0-9@$][a-z0-9@$]*")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (``ü`` written ``u``), a few hundred."""
    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            found.add(strip_marks(reading))
    # Single consonants (嗯 n, 呣 m) would make almost any English word look like pinyin.
    return frozenset(s for s in found if len(s) > 1 or s in {"a", "e", "o"})


def strip_marks(text: str) -> str:
    """Drop combining marks (tone marks, umlauts) from Latin letters."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    if 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0xFE00 <= cp <= 0xFE0F:
        return True
    # Me: the keycap (1️⃣) and other enclosing marks.
    return unicodedata.category(ch) in {"So", "Sk", "Cs", "Co", "Me"}


def fold(text: str, extra_t2s: dict[str, str] | None = None) -> str:
    """NFKC, case, tone marks, emoji, Traditional→Simplified; repeats are kept."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).casefold()
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    text = "".join(" " if _is_emoji(c) else c for c in text)
    if HAN.search(text):
        text = _t2s().convert(text)
        if extra_t2s:
            text = "".join(extra_t2s.get(c, c) for c in text)
    if any(ord(c) > 0x7F and not HAN.match(c) for c in text):
        text = strip_marks(text)
    return _TONE_DIGIT.sub("", text)


def squeeze_repeats(text: str) -> str:
    return _REPEAT.sub(r"\1", text)


def join_spelled_letters(words: list[str]) -> list[str]:
    """``k i l l myself`` → ``kill myself``: three or more single letters in a row are one word."""
    out: list[str] = []
    run: list[str] = []
    for w in [*words, ""]:
        if len(w) == 1 and w.isalpha():
            run.append(w)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if w:
            out.append(w)
    return out


def deleet(word: str) -> str:
    """``k1ll`` → ``kill``, ``d13`` → ``die``; numbers on their own are left alone."""
    if _LEET_WORD.fullmatch(word) and any(c.isalpha() for c in word):
        return word.translate(_LEET)
    return word


@dataclass(frozen=True)
class Forms:
    """The shapes of one text that word lists are matched against."""

    han: str
    """Chinese characters only, spaces and light punctuation removed, ``|`` at sentence ends
    and where other scripts stood; repeats collapsed."""
    latin: str
    """Latin words (and digits) separated by single spaces, ``|`` where Chinese stood; slang
    expanded, repeats collapsed."""
    pinyin_runs: tuple[tuple[str, str], ...]
    """Runs of pinyin: (letters without spaces, origin per letter: ``h`` from a Chinese
    character, ``l`` typed in Latin letters)."""


def segments_as_pinyin(word: str) -> bool:
    """Whether ``word`` can be cut into pinyin syllables (``woxiangsi`` can, ``diet`` cannot)."""
    syl = pinyin_syllables()
    n = len(word)
    if n > 60:
        return False  # no one types a sentence of pinyin without a space
    ok = [False] * (n + 1)
    ok[0] = True
    for i in range(1, n + 1):
        for j in range(max(0, i - 6), i):
            if ok[j] and word[j:i] in syl:
                ok[i] = True
                break
    return ok[n]


def _pinyin_word(tok: str) -> str:
    return _LONG_REPEAT.sub(r"\1", _TONE_DIGIT.sub("", tok.replace("'", "")))


_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9@$']+|\s+|.", re.S)


def emoji_words(text: str, emoji: dict[str, list[str]]) -> str:
    """Emoji that stand for a word (🪦 die, 🔪 knife) become that word, in Chinese when the
    text has Chinese (``我想🪦了`` → ``我想死了``) and in English otherwise."""
    if not emoji or not any(c in emoji for c in text):
        return text
    pick = 0 if HAN.search(text) else 1
    return "".join(f" {emoji[c][pick]} " if c in emoji else c for c in text)


def forms(
    text: str,
    *,
    extra_t2s: dict[str, str] | None = None,
    slang: dict[str, str] | None = None,
    bridge: dict[str, str] | None = None,
    emoji: dict[str, list[str]] | None = None,
) -> Forms:
    """The forms of ``text``. ``bridge`` gives Chinese for English words that a child mixes
    into a Chinese sentence (``不想live了``): there the Chinese form reads the word (活)
    instead of breaking at it; an empty value joins across the word (``to``)."""
    folded = fold(emoji_words(text, emoji or {}), extra_t2s)
    has_han = HAN.search(folded) is not None
    han_parts: list[str] = []
    latin_words: list[str] = []
    runs: list[tuple[str, str]] = []
    run_text: list[str] = []
    run_origin: list[str] = []

    def close_run() -> None:
        if run_text and any("l" in o for o in run_origin):
            runs.append(("".join(run_text), "".join(run_origin)))
        run_text.clear()
        run_origin.clear()

    pending_latin: list[str] = []

    def flush_latin() -> None:
        words = join_spelled_letters(pending_latin)
        for w in words:
            w = squeeze_repeats(deleet(w.replace("'", "")))
            if not w:
                continue
            # Slang keys and values are stored with repeats collapsed, like the text.
            latin_words.extend((slang or {}).get(w, w).split())
        pending_latin.clear()

    tokens = _TOKEN.findall(folded)
    # Characters are turned into pinyin only when some Latin word could be pinyin: a run
    # made of characters alone is left to the Chinese form (and pinyin is the slow part).
    typed_pinyin = any(
        tok[0].isalpha() and tok.isascii() and segments_as_pinyin(_pinyin_word(tok))
        for tok in tokens
        if not HAN.match(tok)
    )
    for tok in tokens:
        if HAN.match(tok):
            flush_latin()
            if latin_words and latin_words[-1] != "|":
                latin_words.append("|")
            han_parts.append(tok)
            if not typed_pinyin:
                close_run()
                continue
            for syllable in lazy_pinyin(tok, v_to_u=True):
                s = strip_marks(syllable)
                run_text.append(s)
                run_origin.append("h" * len(s))
        elif tok[0].isalnum() or tok[0] in "@$'":
            pending_latin.append(tok)
            bridged = (bridge or {}).get(squeeze_repeats(deleet(tok.replace("'", ""))))
            if tok.isdigit():
                han_parts.append(tok)  # 喝了一瓶84消毒液: numbers do not break a Chinese phrase
            elif has_han and bridged is not None:
                han_parts.append(bridged)
            elif han_parts and han_parts[-1] != "|":
                han_parts.append("|")
            word = _pinyin_word(tok)
            if word.isalpha() and segments_as_pinyin(word):
                run_text.append(word)
                run_origin.append("l" * len(word))
            else:
                close_run()
        elif tok.isspace():
            continue
        else:
            if tok in _STRONG_BREAK:
                if han_parts and han_parts[-1] != "|":
                    han_parts.append("|")
                close_run()
            # Light punctuation (，、- . ~) joins what is around it.
    flush_latin()
    close_run()
    return Forms(
        han=squeeze_repeats("".join(han_parts)),
        latin=" ".join(latin_words),
        pinyin_runs=tuple(runs),
    )
