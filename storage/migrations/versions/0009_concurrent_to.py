"""captures: the page record a rendered DOM or screenshot belongs to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:00:00

`captures.concurrent_to` holds a resource record's WARC-Concurrent-To (crawler.render's DOM and
screenshot records point at the page response they were rendered from), indexed so that the
monitor finds a page capture's DOM in one lookup. NULL for every other row, as for all rows before.
The column is added in place (no table copy).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("captures", sa.Column("concurrent_to", sa.String(length=100), nullable=True))
    op.create_index("ix_captures_concurrent_to", "captures", ["concurrent_to"])


def downgrade() -> None:
    op.drop_index("ix_captures_concurrent_to", table_name="captures")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("concurrent_to")
