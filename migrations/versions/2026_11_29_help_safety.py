"""help safety: urgency history, voice requests heard or not, access-log reads by time

Adds to help requests the urgency automation set (``triage_urgency``), the
highest it ever had (``peak_urgency``, which the closing rules follow), whether
the child recorded instead of typing and when a person first heard it, and a
place for a transcript. ``help_urgency_changes`` keeps every change with who,
when and why. The access log gains an index for the supervisors' time-ordered
reading of it.

Revision ID: 0016_help_safety
Revises: 0012_notifications
Create Date: 2026-11-29 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import voicebridge.db

revision: str = "0016_help_safety"
down_revision: str | Sequence[str] | None = "0012_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _urgency() -> sa.Enum:
    return sa.Enum(
        "critical", "high", "normal", "low", name="urgency", native_enum=False, length=30
    )


def upgrade() -> None:
    with op.batch_alter_table("help_requests") as batch:
        batch.add_column(sa.Column("triage_urgency", _urgency(), nullable=True))
        batch.add_column(sa.Column("peak_urgency", _urgency(), nullable=True))
        batch.add_column(
            sa.Column("voice", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("heard_at", voicebridge.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("transcript", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True)
        )
    op.execute("UPDATE help_requests SET triage_urgency = urgency, peak_urgency = urgency")
    with op.batch_alter_table("help_requests") as batch:
        batch.alter_column("voice", server_default=None)
    op.create_table(
        "help_urgency_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("from_urgency", _urgency(), nullable=True),
        sa.Column("to_urgency", _urgency(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_help_urgency_changes_changed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_requests.id"],
            name=op.f("fk_help_urgency_changes_request_id_help_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_urgency_changes")),
    )
    op.create_index(
        op.f("ix_help_urgency_changes_request_id"),
        "help_urgency_changes",
        ["request_id"],
        unique=False,
    )
    op.create_index("ix_case_access_log_at", "case_access_log", ["at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_case_access_log_at", table_name="case_access_log")
    op.drop_index(op.f("ix_help_urgency_changes_request_id"), table_name="help_urgency_changes")
    op.drop_table("help_urgency_changes")
    with op.batch_alter_table("help_requests") as batch:
        batch.drop_column("transcript")
        batch.drop_column("heard_at")
        batch.drop_column("voice")
        batch.drop_column("peak_urgency")
        batch.drop_column("triage_urgency")
