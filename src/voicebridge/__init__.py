"""VoiceBridge: voices between left-behind children and their families."""
