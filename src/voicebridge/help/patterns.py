"""The risk patterns' little syntax (see ``help/lexicon.py``) as regular expressions.

One pattern is compiled once per form of the text it is matched against: the
Chinese characters (``zh``), typed pinyin (``py``, and ``zh>py`` for a Chinese
pattern read in pinyin), the sound of the Chinese text (``zh>hz``, pinyin with
``zh ch sh`` folded, see ``help/homophones.py``) and English words (``en``).
"""

from __future__ import annotations

import re

from pypinyin import lazy_pinyin

from voicebridge.help import homophones, textnorm

_SYNTAX = set("()|?*")


def han_pinyin(segment: str) -> str:
    return "".join(textnorm.strip_marks(s) for s in lazy_pinyin(segment, v_to_u=True))


_MACRO = re.compile(r"\{([A-Z_]+)\}")


def expand(pattern: str, macros: dict[str, list[str]]) -> str:
    """``{NAME}`` → ``(a|b|…)`` from the class NAME; an unknown name is an error in the data."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in macros:
            raise ValueError(f"unknown class {{{m.group(1)}}} in risk pattern {pattern!r}")
        return "(" + "|".join(macros[m.group(1)]) + ")"

    return _MACRO.sub(one, pattern)


def compile_pattern(
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
            out.append(re.escape(han_pinyin(text)))
        elif script == "zh>hz":
            text = textnorm.fold(text, extra_t2s).replace(" ", "")
            out.append(re.escape(homophones.fold(han_pinyin(text))))
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
