"""Every domain's job handlers; importing this registers them all."""

import voicebridge.uploads.jobs  # noqa: F401
