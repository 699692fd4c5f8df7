"""chapter release: a private story's chapter reaches its children at a chosen time

Revision ID: 0021_chapter_release
Revises: 0011_live
Create Date: 2026-11-29 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voicebridge.db

revision: str = "0021_chapter_release"
down_revision: str | Sequence[str] | None = "0011_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("story_chapters") as batch:
        batch.add_column(
            sa.Column("release_at", voicebridge.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("story_chapters") as batch:
        batch.drop_column("release_at")
