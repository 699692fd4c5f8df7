"""transcripts: machine-made transcripts of recordings; job priority

Revision ID: 0020_transcripts
Revises: 0018_lifecycle
Create Date: 2026-11-29 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import voicebridge.db
from sqlalchemy.dialects import postgresql

revision: str = "0020_transcripts"
down_revision: str | Sequence[str] | None = "0018_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column(
            "subject",
            sa.Enum(
                "help_request",
                "help_message",
                "family_message",
                name="subject",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "segments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("machine_made", sa.Boolean(), nullable=False),
        sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("processing_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["audio_assets.id"],
            name=op.f("fk_transcripts_asset_id_audio_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_transcripts_asset_id")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("priority")
    op.drop_table("transcripts")
