"""Every domain's job handlers; importing this registers them all."""

from voicebridge.messages import jobs as messages_jobs  # noqa: F401
