"""VoiceBridge: voices between left-behind children and their families."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voicebridge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
