from __future__ import annotations

import pytest

from voicebridge.help import triage
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import Category, Urgency

DATA = triage.load(HelpSettings())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我不想活了", Urgency.critical),
        ("有时候我想 死", Urgency.critical),
        ("他们说要喝农药", Urgency.critical),
        ("I want to KILL MYSELF", Urgency.critical),
        ("同学天天欺负我", Urgency.high),
        ("我想妈妈了", None),
        ("I miss my dad", None),
    ],
)
def test_risk_words(text: str, expected: Urgency | None) -> None:
    assert triage.scan_risk(DATA, text) is expected


def test_choices_and_words_set_urgency() -> None:
    assert triage.initial_urgency(DATA, Category.lonely, True, None) == (Urgency.critical, False)
    assert triage.initial_urgency(DATA, Category.lonely, False, "想妈妈") == (Urgency.normal, False)
    assert triage.initial_urgency(DATA, Category.other, False, "没事") == (Urgency.low, False)
    assert triage.initial_urgency(DATA, Category.bullying, False, None) == (Urgency.high, False)
    assert triage.initial_urgency(DATA, Category.school, False, "我想死") == (
        Urgency.critical,
        True,
    )


def test_automation_only_raises() -> None:
    assert triage.raised(Urgency.critical, Urgency.high) is None
    assert triage.raised(Urgency.low, Urgency.high) is Urgency.high
    assert triage.raised(Urgency.normal, None) is None


def test_settings_override_word_list() -> None:
    data = triage.load(HelpSettings(risk_words_critical=["紫色警报"]))
    assert triage.scan_risk(data, "紫色警报") is Urgency.critical
    assert triage.scan_risk(data, "我想死") is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("打我电话 13812345678", "phone"),
        ("call 138 1234 5678 later", "phone"),
        ("号码１３８１２３４５６７８", "phone"),
        ("+86 139-1234-5678", "phone"),
        ("办公室 010-12345678", "phone"),
        ("加我微信 abc_12345", "wechat"),
        ("VX: teacherwang88", "wechat"),
        ("weixin zhang_san_99", "wechat"),
        ("我的QQ 12345678", "qq"),
        ("see https://example.org/x", "link"),
        ("go to www.badsite.cn", "link"),
        ("visit kids-chat.com now", "link"),
    ],
)
def test_contact_details_are_found(text: str, kind: str) -> None:
    assert kind in triage.contact_details(text)


@pytest.mark.parametrize(
    "text",
    ["你今天过得怎么样?", "We talked for 15 minutes about 3 friends", "I am 12 years old"],
)
def test_ordinary_words_pass(text: str) -> None:
    assert triage.contact_details(text) == []
