"""evidence log: the append-only log of records, events and custody actions, and its checkpoints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:05:00

`evidence_log` holds one canonical-JSON entry per WARC record written, change event and custody
action: the leaves of the Merkle tree storage.evidence.merkle computes. `evidence_checkpoints`
holds the signed tree heads. An archive migrated here has an empty log: its older records are
outside it (`warcwatch verify` says how many rows have no entry).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_log_record", "evidence_log", ["record_id"])
    op.create_index("ix_evidence_log_event", "evidence_log", ["event_id"])
    op.create_table(
        "evidence_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_checkpoints_size", "evidence_checkpoints", ["size"])


def downgrade() -> None:
    op.drop_table("evidence_checkpoints")
    op.drop_table("evidence_log")
