"""Transcript text: Traditional characters to Simplified before anything reads it.

Whisper often writes Traditional characters for Mandarin; triage's word lists and
the families reading the transcript expect Simplified.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc  # opencc-python-reimplemented: OpenCC's tables in pure Python

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    if not text:
        return text
    result: str = _converter().convert(text)
    return result
