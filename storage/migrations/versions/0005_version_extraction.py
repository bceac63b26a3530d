"""versions: how the text was extracted when it was not the usual way

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03 08:05:00

`versions.extraction` holds the fallbacks text extraction took for that version, `; `-separated
(monitor.extract's notes: the declared charset set aside for a detected one, a text node over
lxml's 10 MB limit parsed with huge_tree); NULL when it took none, as for every version before.
The column is added in place (no table copy). Numbered 0005 because branch `timestamps` adds a
0004: when both are merged, this revision's down_revision becomes "0004".
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("extraction", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("extraction")
