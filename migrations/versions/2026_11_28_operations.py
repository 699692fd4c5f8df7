"""operations: partial indexes for open uploads and finished jobs

The two queries that run every few seconds or every hour on tables that grow
with every message: open uploads (expiry, the uploads_open gauge) and the
purge of finished jobs. Hot-query indexes of the listening hour are issue 14's.

Revision ID: 0015_operations
Revises: 0007_help
Create Date: 2026-11-28 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_operations"
down_revision: str | Sequence[str] | None = "0007_help"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    open_uploads = sa.text("completed_at IS NULL")
    op.create_index(
        "ix_uploads_open",
        "uploads",
        ["expires_at"],
        postgresql_where=open_uploads,
        sqlite_where=open_uploads,
    )
    done = sa.text("state = 'done'")
    op.create_index(
        "ix_jobs_done", "jobs", ["finished_at"], postgresql_where=done, sqlite_where=done
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_done", table_name="jobs")
    op.drop_index("ix_uploads_open", table_name="uploads")
