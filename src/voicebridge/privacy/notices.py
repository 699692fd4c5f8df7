"""The consent notice guardians accept, versioned.

A notice names each purpose, how long data is kept and where to send requests.
Publishing a new version (a new entry here and ``privacy.notice_version``) makes
every guardian whose consent names an older version see ``consent_needed`` and
accept again; until they do, nothing changes for their data.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicebridge.errors import NotFound


@dataclass(frozen=True)
class Purpose:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Notice:
    version: str
    published: str
    purposes: tuple[Purpose, ...]
    retention_choices: tuple[int, ...]
    zh: str
    en: str


_PURPOSES = (
    Purpose(
        "voice_messages",
        "在您和孩子之间传递语音留言",
        "Carry voice messages between you and your child",
    ),
    Purpose("stories", "让孩子听到您录制的故事", "Let your child hear the stories you record"),
    Purpose(
        "school_contact",
        "学校在需要时联系您,并知道孩子是否收到家人的消息",
        "Let the school reach you and see whether your child hears from family",
    ),
    Purpose(
        "help_requests",
        "孩子求助时由志愿心理咨询师回应(求助记录按保护儿童的要求另行保存)",
        "Let volunteer psychologists answer your child's requests for help (kept separately, "
        "for the child's protection)",
    ),
)

TRANSCRIPTS = Purpose(
    "transcripts",
    "由我们自己服务器上的程序把家人语音留言转成文字,您和孩子都能看到和搜索;文字可能有误,"
    "随留言一起删除,撤回此项同意时全部删除",
    "Turn your family's voice messages into text by a program on our own server, shown to "
    "you and your child and searchable by you both; the text can be wrong, is deleted with "
    "the message, and all of it when you withdraw this consent",
)

NOTICES: dict[str, Notice] = {
    "2026-09": Notice(
        version="2026-09",
        published="2026-09-01",
        purposes=_PURPOSES,
        retention_choices=(30, 90, 180, 365),
        zh=(
            "语音留言、录音和收听记录在您选择的保存期限后删除。撤回同意或链接被撤销后,"
            "您与孩子的对话将在宽限期后删除,届时会告知您具体日期。您可以随时下载或删除您的数据。"
        ),
        en=(
            "Voice messages, recordings and listening progress are deleted after the retention "
            "period you choose. If you withdraw consent or your link is revoked, your "
            "conversation with the child is deleted after a grace period; you are told the date. "
            "You can download or erase your data at any time."
        ),
    ),
    # Adds the optional purpose "transcripts" (issue 16); everything else as 2026-09.
    "2026-11": Notice(
        version="2026-11",
        published="2026-11-29",
        purposes=(*_PURPOSES, TRANSCRIPTS),
        retention_choices=(30, 90, 180, 365),
        zh=(
            "语音留言、录音和收听记录在您选择的保存期限后删除。撤回同意或链接被撤销后,"
            "您与孩子的对话将在宽限期后删除,届时会告知您具体日期。您可以随时下载或删除您的数据。"
        ),
        en=(
            "Voice messages, recordings and listening progress are deleted after the retention "
            "period you choose. If you withdraw consent or your link is revoked, your "
            "conversation with the child is deleted after a grace period; you are told the date. "
            "You can download or erase your data at any time."
        ),
    ),
}


def notice(version: str) -> Notice:
    found = NOTICES.get(version)
    if found is None:
        raise NotFound("No such consent notice")
    return found
