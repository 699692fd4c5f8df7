"""Why an uploaded recording was refused.

Each subclass is a distinct problem ``type`` so the client can tell the parent
what to do: record again (``corrupt-audio``, ``empty-audio``), pick another file
(``not-audio``) or split a long story into chapters (``audio-too-long``). All are
422: the upload itself arrived fine, its content is what we cannot use.
"""

from __future__ import annotations

from voicebridge.errors import DomainError


class InvalidAudio(DomainError):
    status = 422
    slug = "invalid-audio"
    title = "The recording cannot be used"


class NotAudio(InvalidAudio):
    """Not a media file, or a media file without sound (a photo, a document)."""

    slug = "not-audio"
    title = "The file is not a sound recording"


class CorruptAudio(InvalidAudio):
    """Damaged beyond repair, or much shorter than its container says.

    The second case matters most: an upload cut off half way decodes without a
    single error, and only the claimed duration reveals that half is missing.
    """

    slug = "corrupt-audio"
    title = "The recording is damaged"


class EmptyAudio(InvalidAudio):
    """Zero bytes, or too little sound to be a message (under ~0.3 s)."""

    slug = "empty-audio"
    title = "The recording is empty"


class AudioTooLong(InvalidAudio):
    slug = "audio-too-long"
    title = "The recording is too long"
