"""warc_files: the object a closed WARC file was uploaded to, once the upload is confirmed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 13:00:00

With `[archive] warc_dir = "s3://…"` a WARC file is written in the local folder and uploaded when
it is finished (storage.objects). `warc_files.object` holds the object's URL and `uploaded_at`
when its size and checksum were read back and matched; NULL while the file is only local (and for
every row before, and always with a local warc_dir). Added in place (no table copy).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("warc_files", sa.Column("object", sa.String(length=1000), nullable=True))
    op.add_column("warc_files", sa.Column("uploaded_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.drop_column("uploaded_at")
        batch_op.drop_column("object")
