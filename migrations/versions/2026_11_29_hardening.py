"""hardening: idempotency claims with holders and replayed headers, shared rate
counters, phone verification codes, staff invitations, PIN alerts

Revision ID: 0017_hardening
Revises: 0019_performance
Create Date: 2026-11-29 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import voicebridge.db

revision: str = "0017_hardening"
down_revision: str | Sequence[str] | None = "0019_performance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.add_column(sa.Column("headers", JSON, nullable=True))
        batch.add_column(
            sa.Column("secret", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch.add_column(
            sa.Column("taken_at", voicebridge.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(
            sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    with op.batch_alter_table("children") as batch:
        batch.add_column(
            sa.Column("pin_alerted_at", voicebridge.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "rate_counters",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("window_start", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_start", name=op.f("pk_rate_counters")),
    )
    op.create_index(
        op.f("ix_rate_counters_window_start"), "rate_counters", ["window_start"], unique=False
    )
    op.create_table(
        "phone_verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("used_at", voicebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_verifications")),
    )
    op.create_index(
        op.f("ix_phone_verifications_phone"), "phone_verifications", ["phone"], unique=False
    )
    op.create_index(
        op.f("ix_phone_verifications_created_at"),
        "phone_verifications",
        ["created_at"],
        unique=False,
    )
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "teacher",
                "counsellor",
                name="staffrole",
                native_enum=False,
                create_constraint=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("is_safeguarding_contact", sa.Boolean(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", voicebridge.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", voicebridge.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_staff_invitations_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_invitations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_staff_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
    )
    op.create_index(
        op.f("ix_staff_invitations_school_id"), "staff_invitations", ["school_id"], unique=False
    )
    op.create_index(
        op.f("ix_staff_invitations_user_id"), "staff_invitations", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_invitations_user_id"), table_name="staff_invitations")
    op.drop_index(op.f("ix_staff_invitations_school_id"), table_name="staff_invitations")
    op.drop_table("staff_invitations")
    op.drop_index(op.f("ix_phone_verifications_created_at"), table_name="phone_verifications")
    op.drop_index(op.f("ix_phone_verifications_phone"), table_name="phone_verifications")
    op.drop_table("phone_verifications")
    op.drop_index(op.f("ix_rate_counters_window_start"), table_name="rate_counters")
    op.drop_table("rate_counters")
    with op.batch_alter_table("children") as batch:
        batch.drop_column("pin_alerted_at")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("taken_at")
        batch.drop_column("holder")
        batch.drop_column("secret")
        batch.drop_column("headers")
