"""Every domain's job handlers; importing this registers them all."""

import voicebridge.help.jobs  # noqa: F401
import voicebridge.idempotency.jobs  # noqa: F401
import voicebridge.jobs.maintenance  # noqa: F401
import voicebridge.live.jobs  # noqa: F401
import voicebridge.notifications.jobs  # noqa: F401
import voicebridge.privacy.exports  # noqa: F401
import voicebridge.privacy.lifecycle  # noqa: F401
import voicebridge.privacy.retention  # noqa: F401
import voicebridge.transcripts.jobs  # noqa: F401
import voicebridge.uploads.jobs  # noqa: F401
from voicebridge.messages import jobs as messages_jobs  # noqa: F401
