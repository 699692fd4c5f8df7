"""Machine transcripts of recordings: a child's spoken words reach triage, families can read.

Optional: the engine needs the ``[asr]`` extra and a model directory. Without
either the service runs as before and says so in ``/readyz`` and the logs.
"""
