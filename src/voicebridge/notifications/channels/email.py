"""E-mail over SMTP with aiosmtplib: plain text plus HTML, in the reader's language.

The Message-ID is derived from the delivery's idempotency key, so a message
sent again after a crash is the same message to every mail system that
de-duplicates on it; ``X-VoiceBridge-Delivery`` carries the key itself.
"""

from __future__ import annotations

import hashlib
import logging
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from voicebridge.notifications.channels import Outgoing, Receipt, SendFailed, tls_context
from voicebridge.notifications.config import EmailSettings

log = logging.getLogger("voicebridge.notifications.email")


def build(settings: EmailSettings, outgoing: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = outgoing.target
    message["Subject"] = outgoing.title
    message["Date"] = formatdate(localtime=False, usegmt=True)
    digest = hashlib.sha256(outgoing.key.encode()).hexdigest()[:40]
    message["Message-ID"] = f"<{digest}@voicebridge>"
    message["X-VoiceBridge-Delivery"] = outgoing.key
    message["Auto-Submitted"] = "auto-generated"
    if outgoing.safety:
        message["Importance"] = "high"
        message["X-Priority"] = "1"
    message["Content-Language"] = "zh-CN" if outgoing.language == "zh" else "en"
    message.set_content(outgoing.email_text)
    message.add_alternative(outgoing.email_html, subtype="html")
    return message


class SmtpSender:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> Receipt:
        s = self.settings
        message = build(s, outgoing)
        try:
            _, reply = await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout_seconds,
                tls_context=tls_context() if s.security != "none" else None,
                local_hostname=s.local_hostname,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SendFailed("the mail server refused the address", retry=False) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx is "try later"; 5xx is final.
            raise SendFailed(
                f"SMTP {exc.code}: {exc.message[:200]}", retry=400 <= exc.code < 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendFailed(f"SMTP unreachable: {type(exc).__name__}", retry=True) from exc
        return Receipt(provider_id=str(message["Message-ID"]), status_code=250)


class LogEmailSender:
    """Development: the message goes to the log instead of a mail server."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> Receipt:
        log.info(
            "e-mail (log backend)",
            extra={"to": outgoing.target, "subject": outgoing.title, "key": outgoing.key},
        )
        return Receipt(provider_id="log")
