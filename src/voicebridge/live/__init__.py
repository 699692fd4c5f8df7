"""Server-sent events: per-user streams of ids and kinds, fanned out across API processes."""
