"""The data lifecycle: retention, withdrawal and closure, export and erasure, the audit trail."""
