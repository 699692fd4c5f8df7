"""The contact filter: off-platform contact details in a volunteer's message.

A volunteer may not hand a child a phone number, a WeChat or QQ account, a
link or any other way round the platform; such a message is held for a
supervisor. People who want to get round a filter write numbers in Chinese
numerals (一三九…, 幺 for 1), mix digits and numerals, space or dot the digits,
say "my WeChat is my phone number" (微信同手机号) or "search my WeChat",
and drop the scheme from a link shortener (t.cn/xxx). What counts is data
(``help/data/contact.json``); this module normalises the text and applies it.
Measured by ``bench/contact_filter.py`` on ``tests/help/data/contact_filter.jsonl``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from voicebridge.help import textnorm

_SEPARATORS = r"[\s\-.·・_/,，、()（）\[\]*~+]"


@dataclass(frozen=True)
class ContactRules:
    numerals: dict[str, str]
    numeral_run: re.Pattern[str]
    joined_digits: re.Pattern[str]
    allowed: frozenset[str]
    keywords: dict[str, re.Pattern[str]]
    phrases: tuple[tuple[str, re.Pattern[str]], ...]
    fake_dot: re.Pattern[str]
    link: re.Pattern[str]
    weak_link: re.Pattern[str]
    shortener: re.Pattern[str]


@lru_cache(maxsize=1)
def rules() -> ContactRules:
    raw: dict[str, Any] = json.loads(
        resources.files("voicebridge.help").joinpath("data/contact.json").read_text("utf-8")
    )
    numerals = {ch: digit for digit, chars in raw["numerals"].items() for ch in chars}
    numeral_class = "0-9" + "".join(numerals)
    link = raw["link"]
    tlds, weak = link["tlds"], link["weak_tlds"]
    host = r"(?<![a-z0-9@.\-])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
    return ContactRules(
        numerals=numerals,
        # Five or more digits or numerals, with at most three separators between two of them.
        numeral_run=re.compile(
            rf"[{numeral_class}](?:{_SEPARATORS}{{0,3}}[{numeral_class}]){{4,}}"
        ),
        joined_digits=re.compile(rf"(?<=\d){_SEPARATORS}{{1,3}}(?=\d)"),
        allowed=frozenset(raw["allowed_numbers"]),
        keywords={k: re.compile(v) for k, v in raw["keywords"].items()},
        phrases=tuple(
            (kind, re.compile(p)) for kind, patterns in raw["phrases"].items() for p in patterns
        ),
        fake_dot=re.compile(
            rf"(?<=[a-z0-9])\s*(?:点|。|．|dot|\[\.\]|\(\.\)|（\.）|\.)\s*(?=(?:{tlds}|{weak})(?![a-z]))"
        ),
        link=re.compile(rf"(?:https?\s*:\s*//|www\.)\S+|{host}(?:{tlds})(?![a-z0-9\-])(?:/\S*)?"),
        weak_link=re.compile(rf"{host}(?:{weak})/\S+"),
        shortener=re.compile(rf"(?<![a-z0-9])(?:{link['shorteners']})(?![a-z0-9])"),
    )


def normalise(text: str) -> str:
    """NFKC, case, Traditional→Simplified, emoji gone, numerals in long runs become digits."""
    r = rules()
    text = textnorm.fold(text)
    text = r.fake_dot.sub(".", text)
    text = re.sub(r"www\s*(?:点|。|dot)\s*", "www.", text)

    def digits(m: re.Match[str]) -> str:
        return "".join(r.numerals.get(c, c) for c in m.group(0))

    return r.numeral_run.sub(digits, text)


def _numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each run of digits, joined across spaces, dots and dashes."""
    joined = rules().joined_digits
    found = []
    for m in re.finditer(rf"\d(?:{_SEPARATORS}{{0,3}}\d)*", text):
        found.append((m.start(), m.end(), joined.sub("", m.group(0))))
    return found


def _near(pattern: re.Pattern[str], text: str, span: tuple[int, int], around: int) -> bool:
    start, end = span
    window = text[max(0, start - around) : start] + " " + text[end : end + around // 2]
    return pattern.search(window) is not None


def _number_kind(r: ContactRules, text: str, start: int, end: int, number: str) -> str | None:
    """What a run of digits is: a mobile or landline number anywhere; a QQ, WeChat or
    phone number when a word for it stands near; hotlines in ``allowed_numbers`` pass."""
    bare = number[4:] if number.startswith("0086") else number
    bare = bare[2:] if bare.startswith("86") and len(bare) == 13 else bare
    if bare in r.allowed:
        return None
    if re.fullmatch(r"1[3-9]\d{9}", bare) or re.fullmatch(r"0[1-9]\d{8,10}", bare):
        return "phone"
    span = (start, end)
    if len(bare) >= 5 and _near(r.keywords["qq"], text, span, 8):
        return "qq"
    if len(bare) >= 5 and _near(r.keywords["wechat"], text, span, 10):
        return "wechat"
    if len(bare) >= 7 and _near(r.keywords["phone"], text, span, 14):
        return "phone"
    if len(bare) >= 8 and text[max(0, start - 1) : start] == "+":
        return "phone"
    return None


def contact_details(text: str | None) -> list[str]:
    """Kinds of off-platform contact in ``text``: phone, wechat, qq, link, email, social."""
    if not text:
        return []
    r = rules()
    plain = normalise(text)
    found: list[str] = []

    def add(kind: str) -> None:
        if kind not in found:
            found.append(kind)

    for start, end, number in _numbers(plain):
        kind = _number_kind(r, plain, start, end, number)
        if kind:
            add(kind)
    for kind, pattern in r.phrases:
        if pattern.search(plain):
            add(kind)
    if r.link.search(plain) or r.weak_link.search(plain) or r.shortener.search(plain):
        add("link")
    # An account name right after a WeChat word: "微信 wang_laoshi1", "vx: teacher88".
    if re.search(
        r"(?:微信|weixin|wechat|wx|vx|v信|薇信|威信)\s*(?:号|id)?\s*[:：]?\s*[a-z][a-z0-9_\-]{5,19}",
        plain,
    ):
        add("wechat")
    return found


def fold_for_display(text: str) -> str:
    """What the filter saw (for a reviewer wondering why a message was held)."""
    return unicodedata.normalize("NFC", normalise(text))
