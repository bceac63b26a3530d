"""capture times to the microsecond, and why a capture was fetched

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:50:00

`captures.micros` keeps the second's microseconds of each capture (its WARC-Date exactly, with
`timestamp`). Records written before this revision have WARC-Dates to the second, so 0 is their
value exactly. The (surt, timestamp) index becomes (surt, timestamp, micros): nearest-capture
probes order by all three.

`captures.purpose` says why a capture was fetched when it was not the pass's own visit:
"confirmation" for the re-fetch right after a change. Existing rows get it by the rule the monitor
used to tell them (monitor.analysis): a later capture of a URL by the same target in the same run.
Columns are added in place (no table copy: a catalog may hold millions of captures).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("captures", sa.Column("micros", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("captures", sa.Column("purpose", sa.String(length=20), nullable=True))
    op.drop_index("ix_captures_surt_timestamp", table_name="captures")
    op.create_index(
        "ix_captures_surt_time", "captures", ["surt", "timestamp", "micros"], unique=False
    )
    op.execute(
        "UPDATE captures SET purpose = 'confirmation' WHERE run_id IS NOT NULL AND url NOT LIKE "
        "'%/robots.txt' "
        "AND EXISTS (SELECT 1 FROM captures AS earlier WHERE earlier.run_id = captures.run_id "
        "AND earlier.surt = captures.surt AND earlier.url = captures.url AND earlier.target = "
        "captures.target "
        "AND earlier.id < captures.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_captures_surt_time", table_name="captures")
    op.create_index("ix_captures_surt_timestamp", "captures", ["surt", "timestamp"], unique=False)
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("purpose")
        batch_op.drop_column("micros")
