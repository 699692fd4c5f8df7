"""Full names on rosters, cases and exports: Chinese characters run together, Latin
letters keep a space."""

from __future__ import annotations

import pytest

from voicebridge.schools.names import full_name


@pytest.mark.parametrize(
    ("family", "given", "expected"),
    [
        ("李", "小明", "李小明"),
        ("欧阳", "娜娜", "欧阳娜娜"),
        ("Li", "Xiaoming", "Li Xiaoming"),
        (" Zhao ", "Na", "Zhao Na"),
        ("王", "Lily", "王Lily"),
        ("Li", "", "Li"),
    ],
)
def test_full_name(family: str, given: str, expected: str) -> None:
    assert full_name(family, given) == expected
