"""Every domain's job handlers; importing this registers them all."""

import voicebridge.help.jobs  # noqa: F401
