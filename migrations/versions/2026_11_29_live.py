"""live: the server-sent events table that reconnecting streams resume from

Revision ID: 0011_live
Revises: 0017_hardening
Create Date: 2026-11-29 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voicebridge.db

revision: str = "0011_live"
down_revision: str | Sequence[str] | None = "0017_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_live_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_events")),
    )
    op.create_index("ix_live_events_user_id_id", "live_events", ["user_id", "id"])
    op.create_index(op.f("ix_live_events_created_at"), "live_events", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_live_events_created_at"), table_name="live_events")
    op.drop_index("ix_live_events_user_id_id", table_name="live_events")
    op.drop_table("live_events")
