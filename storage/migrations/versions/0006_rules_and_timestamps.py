"""signing: rules stored with each version, RFC 3161 time-stamp tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:30:00

`rule_sets` holds each distinct set of rules versions were extracted and compared under
(`versions.rules_id`; NULL for the versions before, which `warcwatch diff` compares under today's
rules as it always did). `timestamp_tokens` is the queue and the store of RFC 3161 tokens.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.create_index("ix_rule_sets_hash", ["hash"], unique=False)
    # batch mode: SQLite adds a foreign key only by copying the table
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_versions_rules_id", "rule_sets", ["rules_id"], ["id"])
    op.create_table(
        "timestamp_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("tsa", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("stamped_at", sa.DateTime(), nullable=True),
        sa.Column("gen_time", sa.DateTime(), nullable=True),
        sa.Column("nonce", sa.String(length=40), nullable=True),
        sa.Column("token", sa.LargeBinary(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timestamp_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timestamp_tokens_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ux_timestamp_tokens_subject", ["subject_kind", "subject_id", "tsa"], unique=True
        )


def downgrade() -> None:
    op.drop_table("timestamp_tokens")
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_versions_rules_id", type_="foreignkey")
        batch_op.drop_column("rules_id")
    op.drop_table("rule_sets")
