"""versions: how the text was extracted when it was not the usual way

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:05:00

`versions.extraction` holds the fallbacks text extraction took for that version, `; `-separated
(monitor.extract's notes: the declared charset set aside for a detected one, a text node over
lxml's 10 MB limit parsed with huge_tree); NULL when it took none, as for every version before.
The column is added in place (no table copy).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("extraction", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("extraction")
