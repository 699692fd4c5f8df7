"""Real recordings for tests; the generator ships in the package (the demo uses it too)."""

from voicebridge.audio.speechlike import SPECS, Spec, make_recording

__all__ = ["SPECS", "Spec", "make_recording"]
