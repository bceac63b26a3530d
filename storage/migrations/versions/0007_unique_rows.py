"""one catalog row per record and target, one event per change of a capture, files' folders

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:10:00

With several processes writing one catalog (daemons and `warcwatch repair` on PostgreSQL), the
database itself keeps the rows unique, not the processes' good behaviour:
- `captures` (record_id, target): a WARC record is catalogued once per target that lists its URL
  (storage.writer's attribution gives the other targets rows of their own on the same record), so
  a second repair of a dead writer's file cannot catalogue its records again. Failed captures
  have no record (NULL): not constrained.
- `events` (target, url, kind, to_capture): a change seen in one capture is one event per target
  (and so one alert per channel), however many analysers meet it.
- `warc_files.folder`: the id of the WARC folder a file was written to (storage.warcfile.folder_id),
  so that a repair deletes the rows of files missing from its own folder only, never those of
  another machine's folder sharing the catalog. NULL for the files written before (the folder of
  whoever repairs, as until now).
A catalog that already holds such duplicates stops the upgrade with a message naming them (they
are evidence to look at, not rows to drop silently).
"""

import sqlalchemy as sa
from alembic import op

from storage.errors import ArchiveError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UNIQUE = {
    "ux_captures_record_target": ("captures", ["record_id", "target"]),
    "ux_events_capture_kind": ("events", ["target", "url", "kind", "to_capture"]),
}


def _duplicates(table: str, columns: list[str]) -> int:
    cols = ", ".join(columns)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    query = (
        f"SELECT COUNT(*) FROM (SELECT {cols} FROM {table} WHERE {not_null} "
        f"GROUP BY {cols} HAVING COUNT(*) > 1) AS dup"
    )
    return op.get_bind().execute(sa.text(query)).scalar() or 0


def upgrade() -> None:
    for name, (table, columns) in _UNIQUE.items():
        if n := _duplicates(table, columns):
            raise ArchiveError(
                f"{n} groups of {table} rows share ({', '.join(columns)}); the catalog cannot "
                f"get its unique index {name} until they are merged (SELECT {', '.join(columns)}, "
                f"COUNT(*) FROM {table} GROUP BY {', '.join(columns)} HAVING COUNT(*) > 1)"
            )
        op.create_index(name, table, columns, unique=True)
    op.add_column("warc_files", sa.Column("folder", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.drop_column("folder")
    for name, (table, _) in _UNIQUE.items():
        op.drop_index(name, table_name=table)
