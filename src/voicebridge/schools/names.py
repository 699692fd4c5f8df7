"""How a child's full name is written: 李小明 without a space, Li Xiaoming with one."""

from __future__ import annotations


def _latin(text: str) -> bool:
    return text.isascii()


def full_name(family_name: str, given_name: str) -> str:
    """Family name first, as on a Chinese school roster; names in Latin letters
    (pinyin, foreign names) are kept apart by a space, Chinese characters are not."""
    family, given = family_name.strip(), given_name.strip()
    if family and given and _latin(family[-1]) and _latin(given[0]):
        return f"{family} {given}"
    return f"{family}{given}"
