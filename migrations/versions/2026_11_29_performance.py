"""performance: indexes for the listening hour, and a write lease on uploads

Revision ID: 0019_performance
Revises: 0020_transcripts
Create Date: 2026-11-29 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import voicebridge.db

revision: str = "0019_performance"
down_revision: str | Sequence[str] | None = "0020_transcripts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READY = "state = 'ready' AND deleted_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_threads_school_activity", "threads", ["school_id", "activity_at", "id"], unique=False
    )
    op.create_index(
        "ix_messages_ready_by_sender",
        "messages",
        ["thread_id", "sender_id", "ready_at"],
        unique=False,
        postgresql_where=sa.text(READY),
        sqlite_where=sa.text(READY),
    )
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(
            sa.Column("writer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("writer_until", voicebridge.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("writer_until")
        batch.drop_column("writer")
    op.drop_index("ix_messages_ready_by_sender", table_name="messages")
    op.drop_index("ix_threads_school_activity", table_name="threads")
