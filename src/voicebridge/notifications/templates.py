"""What each kind of notification says, in Chinese and English, on each channel.

Templates receive only what ``Notification.data`` holds: ids, a child's given
name (never the family name), an adult's display name, counts. Help and safety
templates take no words about the child at all; they say that someone needs a
person and link to the console, where the access policy decides what is shown.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("zh", "en")

# Text of the SMS templates as approved in the provider's console ({1}, {2} are
# the provider's numbered variables). The log backend prints these; Tencent Cloud
# gets the template id from settings and only the parameters from us.
SMS_TEXT: dict[str, dict[str, str]] = {
    "verification_code": {
        "zh": "您的验证码是{1}，10分钟内有效。请勿告诉他人。",
        "en": "Your VoiceBridge code is {1}. It expires in 10 minutes; tell no one.",
    },
    "safety_alert": {
        "zh": "有孩子需要帮助，请立即登录 VoiceBridge 控制台处理。",
        "en": "A child needs help now. Please open the VoiceBridge console.",
    },
    "undelivered_alert": {
        "zh": "一条儿童安全提醒未能送达同事，请立即登录 VoiceBridge 控制台接手。",
        "en": "A child-safety alert did not reach a colleague. Please open the console.",
    },
    "family_message": {
        "zh": "{1}给您发来了语音，请打开 VoiceBridge 收听。",
        "en": "{1} sent you a voice message. Open VoiceBridge to listen.",
    },
    "family_listened": {
        "zh": "{1}听了您的{2}条语音。",
        "en": "{1} listened to {2} of your messages.",
    },
    "nudge": {
        "zh": "{1}已经{2}天没有听到您的声音了，录一段话给孩子吧。",
        "en": "{1} has not heard your voice for {2} days. Record a few words?",
    },
}


@dataclass(frozen=True)
class Text:
    title: str
    body: str
    # Relative to the public base URL; the browser app routes it.
    path: str
    sms: tuple[str, list[str]] | None = None


RELATION = {
    "zh": {
        "mother": "妈妈",
        "father": "爸爸",
        "grandparent": "祖父母",
        "other_relative": "亲属",
        "other": "监护人",
    },
    "en": {
        "mother": "mother",
        "father": "father",
        "grandparent": "grandparent",
        "other_relative": "relative",
        "other": "guardian",
    },
}


def _t(lang: str, zh: str, en: str, **values: Any) -> str:
    return (zh if lang == "zh" else en).format(**values)


def sms_text(template: str, params: list[str], lang: str) -> str:
    text = SMS_TEXT[template]["zh" if lang == "zh" else "en"]
    for i, value in enumerate(params, start=1):
        text = text.replace(f"{{{i}}}", value)
    return text


def render(kind: str, data: dict[str, Any], lang: str, count: int = 1) -> Text:  # noqa: C901
    lang = lang if lang in LANGUAGES else "zh"
    child = str(data.get("child_name", ""))
    if kind == "message.new":
        sender = str(data.get("sender_name", ""))
        return Text(
            _t(lang, "新语音", "New voice message"),
            _t(lang, "{s}给你发来了一段语音。", "{s} sent you a voice message.", s=sender),
            f"/kiosk/threads/{data.get('thread_id', '')}",
        )
    if kind == "message.reply":
        return Text(
            _t(lang, "{c}的语音", "A message from {c}", c=child),
            _t(lang, "{c}给您发来了一段语音。", "{c} sent you a voice message.", c=child),
            f"/threads/{data.get('thread_id', '')}",
            ("family_message", [child]),
        )
    if kind == "message.listened":
        body = (
            _t(lang, "{c}听了您的语音。", "{c} listened to your message.", c=child)
            if count == 1
            else _t(
                lang,
                "{c}听了您的{n}条语音。",
                "{c} listened to your {n} messages.",
                c=child,
                n=count,
            )
        )
        return Text(
            _t(lang, "{c}听到了", "{c} heard you", c=child),
            body,
            f"/threads/{data.get('thread_id', '')}",
            ("family_listened", [child, str(count)]),
        )
    if kind == "story.chapter":
        title = str(data.get("story_title", ""))
        return Text(
            _t(lang, "新故事", "A new story"),
            _t(lang, "新的故事章节：{t}", "A new story chapter: {t}", t=title),
            f"/kiosk/stories/{data.get('story_id', '')}",
        )
    if kind == "invitation.redeemed":
        relation = RELATION[lang].get(str(data.get("relation", "")), RELATION[lang]["other"])
        guardian = str(data.get("guardian_name", ""))
        return Text(
            _t(lang, "邀请码已使用", "Invitation redeemed"),
            _t(
                lang,
                "{g}（{r}）已使用邀请码，与{c}关联。",
                "{g} ({r}) redeemed the invitation and is now linked to {c}.",
                g=guardian,
                r=relation,
                c=child,
            ),
            f"/staff/children/{data.get('child_id', '')}",
        )
    if kind == "pin.guessing":
        return Text(
            _t(lang, "PIN 多次输错", "Repeated wrong PINs"),
            _t(
                lang,
                "有人在设备“{d}”上多次输错{c}的 PIN。请确认是孩子本人，必要时重置 PIN。",
                "Someone keeps typing a wrong PIN for {c} on the device “{d}”. Check it is "
                "the child; reset the PIN if needed.",
                c=child,
                d=str(data.get("device_name", "")),
            ),
            f"/staff/children/{data.get('child_id', '')}",
        )
    if kind == "nudge":
        days = int(data.get("days", 0))
        return Text(
            _t(lang, "给{c}录一段话吧", "A few words for {c}?", c=child),
            _t(
                lang,
                "{c}已经{d}天没有听到您的声音了。一分钟的语音也很好。",
                "{c} has not heard your voice for {d} days. Even one minute helps.",
                c=child,
                d=days,
            ),
            f"/threads/{data.get('thread_id', '')}",
            ("nudge", [child, str(days)]),
        )
    if kind == "report.weekly":
        total, days = int(data.get("total", 0)), int(data.get("days", 14))
        return Text(
            _t(lang, "本周家庭联系报告", "This week's family contact report"),
            _t(
                lang,
                "{n}名孩子在{d}天内没有收到家人的消息。",
                "{n} children have not heard from family in {d} days.",
                n=total,
                d=days,
            ),
            f"/staff/schools/{data.get('school_id', '')}/quiet-children",
        )
    if kind == "help.offer":
        return Text(
            _t(lang, "有孩子在等待", "A child is waiting"),
            _t(lang, "有孩子在等人倾听。", "A child is waiting for someone to talk to."),
            "/console/offers",
        )
    if kind == "help.critical":
        return Text(
            _t(lang, "紧急：有孩子需要帮助", "Urgent: a child needs help now"),
            _t(
                lang,
                "有孩子现在需要帮助，请立即打开控制台。",
                "A child needs someone right now. Please open the console.",
            ),
            f"/console/help/{data.get('request_id', '')}",
            ("safety_alert", []),
        )
    if kind == "help.escalation":
        return Text(
            _t(lang, "求助无人回应", "A request for help is unanswered"),
            _t(
                lang,
                "有孩子的求助还没有人回应，请立即打开控制台。",
                "A child's request for help has not been answered. Please open the console.",
            ),
            f"/console/help/{data.get('request_id', '')}",
            ("safety_alert", []),
        )
    if kind == "safety.undelivered":
        who = str(data.get("who", ""))
        return Text(
            _t(lang, "安全提醒未送达", "A safety alert did not arrive"),
            _t(
                lang,
                "一条儿童安全提醒未能送达{w}，请接手处理。",
                "A child-safety alert could not reach {w}. Please take over.",
                w=who,
            ),
            f"/console/help/{data.get('request_id', '')}",
            ("undelivered_alert", []),
        )
    # help.alert and anything newer: say only that a case needs attention.
    return Text(
        _t(lang, "求助个案有新情况", "A help case needs you"),
        _t(
            lang,
            "您负责的求助个案有新情况，请打开控制台查看。",
            "Something in a help case needs your attention. Please open the console.",
        ),
        f"/console/help/{data.get('request_id', '')}" if data.get("request_id") else "/console",
    )


def _report_rows(data: dict[str, Any], lang: str) -> list[str]:
    rows = []
    for name, count in data.get("classes", []):
        rows.append(_t(lang, "{k}：{n}名", "{k}: {n}", k=name, n=count))
    return rows


def email(
    kind: str, data: dict[str, Any], lang: str, link: str, count: int = 1
) -> tuple[str, str, str]:
    """Subject, plain text and HTML for one notification."""
    text = render(kind, data, lang, count)
    lines = [text.body]
    if kind == "report.weekly":
        lines.extend(_report_rows(data, lang))
    footer = _t(
        lang,
        "这封邮件由 VoiceBridge 自动发送。在设置中可以更改通知方式。",
        "VoiceBridge sent this automatically. You can change how you are told in Settings.",
    )
    action = _t(lang, "打开 VoiceBridge", "Open VoiceBridge")
    plain = "\n\n".join([*lines, f"{action}: {link}", footer]) + "\n"
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    markup = (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><body '
        'style="font-family:sans-serif;line-height:1.5;color:#222">'
        f"<h2>{html.escape(text.title)}</h2>{paragraphs}"
        f'<p><a href="{html.escape(link, quote=True)}" style="display:inline-block;'
        "padding:10px 16px;background:#2b6cb0;color:#fff;text-decoration:none;"
        f'border-radius:6px">{html.escape(action)}</a></p>'
        f'<p style="color:#777;font-size:12px">{html.escape(footer)}</p></body></html>'
    )
    return text.title, plain, markup
