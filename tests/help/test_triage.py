from __future__ import annotations

import pytest

from tests.help import evaluation
from voicebridge.help import textnorm, triage
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
    # Only the critical phrases were replaced; the shipped high ones still apply.
    assert triage.scan_risk(data, "我想死") is Urgency.high
    data = triage.load(HelpSettings(risk_words_critical=["紫色警报"], risk_words_high=["蓝色"]))
    assert triage.scan_risk(data, "我想死") is None
    assert triage.scan_risk(data, "蓝色") is Urgency.high


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


# --- Issue 9: triage as a measured component -------------------------------------------


def test_labelled_set_meets_the_aims() -> None:
    """recall on critical >= 0.95, no critical below high, false critical on controls <= 3%."""
    rows = evaluation.read(evaluation.TRIAGE_SET)
    assert len(rows) >= 400
    score = evaluation.score_triage(rows)
    assert score["benign_controls"] >= 100
    assert evaluation.triage_aims_met(score), {
        k: v for k, v in score.items() if k not in {"misses", "false_alarms"}
    } | {"misses": score["misses"][:20]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The issue's misses: Traditional characters, pinyin, indirect phrasing, slang, typos.
        ("我想自殺", Urgency.critical),
        ("活著沒意思", Urgency.critical),
        ("wo xiang si", Urgency.critical),
        ("wo3 xiang3 si3", Urgency.critical),
        ("wǒ bù xiǎng huó le", Urgency.critical),
        ("woxiangzisha", Urgency.critical),
        ("我想si", Urgency.critical),
        ("I want to disappear", Urgency.critical),
        ("the world would be better without me", Urgency.critical),
        ("kms", Urgency.critical),
        ("i wanna unalive myself", Urgency.critical),
        ("suicde", Urgency.critical),
        ("i want to kil myslef", Urgency.critical),
        ("Ｉ ＷＡＮＴ ＴＯ ＤＩＥ", Urgency.critical),
        ("不想活了😭😭", Urgency.critical),
        ("我 想 死", Urgency.critical),
        ("I took all of my mom's pills", Urgency.critical),
        ("叔叔晚上摸我下面", Urgency.critical),
        ("he touched my private parts", Urgency.critical),
        ("爸爸喝醉了就用皮带抽我", Urgency.high),
        ("my dad hits me when he's drunk", Urgency.high),
        ("我用小刀划自己的手臂", Urgency.high),
    ],
)
def test_issue_regressions(text: str, expected: Urgency) -> None:
    assert triage.scan_risk(DATA, text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "我想死你了",
        "妈妈我想死你了！",
        "想死你們了",
        "wo xiang si ni le",
        "笑死我了",
        "饿死了",
        "I'm dying to see you",
        "I'm on a diet",
        "my phone died",
        "爷爷在地里打农药",
        "有空打我电话",
    ],
)
def test_benign_idioms_are_not_critical(text: str) -> None:
    assert triage.scan_risk(DATA, text) is not Urgency.critical


def test_normalisation() -> None:
    f = textnorm.forms("我想 自殺！！ wǒ xiǎng sǐ ＫＭＳ soooo 😭")
    assert f.han.startswith("我想自杀")
    assert "kms" in f.latin
    assert "so" in f.latin.split()
    assert any(run.startswith("woxiangsi") for run, _ in f.pinyin_runs)
    assert textnorm.segments_as_pinyin("buxianghuo")
    assert not textnorm.segments_as_pinyin("diet")


def test_assess_names_the_category() -> None:
    found = triage.assess(DATA, "他们天天欺负我")
    assert found is not None
    assert (found.urgency, found.category) == (Urgency.high, "bullying")
    found = triage.assess(DATA, "我想割腕")
    assert found is not None
    assert found.urgency is Urgency.critical


# --- Issue 9: the contact filter, measured ---------------------------------------------


def test_contact_set_meets_the_aims() -> None:
    """recall >= 0.95 on messages with contact details, false holds <= 5% on ordinary ones."""
    rows = evaluation.read(evaluation.CONTACT_SET)
    score = evaluation.score_contacts(rows)
    assert score["with_contact"] >= 100
    assert score["without_contact"] >= 100
    assert evaluation.contact_aims_met(score), (score["misses"], score["false_holds"])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("一三九一二三四五六七八", "phone"),
        ("幺三八 幺二三四 五六七八", "phone"),
        ("139一二三四5678", "phone"),
        ("1️⃣3️⃣8️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣8️⃣", "phone"),
        ("微信同手机号", "wechat"),
        ("my wechat is my phone number", "wechat"),
        ("search my WeChat: sunny_teacher", "wechat"),
        ("加我微信", "wechat"),
        ("t.cn/A6xYz", "link"),
        ("dwz.cn/abc", "link"),
        ("url点cn/xyz", "link"),
        ("QQ 一二三四五六七八九", "qq"),
        ("1 3 8 1 2 3 4 5 6 7 8", "phone"),
    ],
)
def test_contact_filter_issue_misses(text: str, kind: str) -> None:
    assert kind in triage.contact_details(text)


@pytest.mark.parametrize(
    "text",
    [
        "明天下午3点见",
        "这次考了98分",
        "2024年3月15日",
        "我们班是三年级二班",
        "一共花了1500元",
        "可以打12355青少年热线",
        "Mr.Wang is your teacher, right?",
        "一二三四五，上山打老虎",
    ],
)
def test_numbers_in_ordinary_messages_pass(text: str) -> None:
    assert triage.contact_details(text) == []


# --- Generalisation: classes, sound-alikes, mixed scripts, negation ------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Sound-alike slips of the input method or of speech recognition.
        ("我想自沙", Urgency.critical),
        ("我想跳搂", Urgency.critical),
        ("活着没意四", Urgency.critical),
        # An English word or an emoji inside a Chinese sentence.
        ("不想live了", Urgency.critical),
        ("我想🪦了", Urgency.critical),
        # One class rule instead of a list of phrases: wants + swallow + a poison, far apart.
        ("我想喝我爷爷打庄稼的那个农药", Urgency.critical),
        # A negation keeps a critical phrase flagged, at high; a question is not a negation.
        ("我不会自杀的", Urgency.high),
        ("我是不是死了比较好", Urgency.critical),
        ("没人在乎我想不想死", Urgency.critical),
        ("i would never kill myself", Urgency.high),
        ("我不想活了", Urgency.critical),
    ],
)
def test_generalised_findings(text: str, expected: Urgency) -> None:
    assert triage.scan_risk(DATA, text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "我们长得很相似",
        "我想四点走",
        "周末我们去河边钓鱼了",
        "同学们把我的衣服扔到水里",
        "小猫从桌子上跳下去了",
    ],
)
def test_words_that_sound_like_risk_are_not_critical(text: str) -> None:
    assert triage.scan_risk(DATA, text) is not Urgency.critical
