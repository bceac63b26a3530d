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

Catalogs written before hold such duplicates: until this revision a URL shared by several targets
could have its capture attributed twice to each other target (two attributions from one source),
rows that say the same thing about the same record. They are merged into the oldest row of each
group (whatever referred to a copy — revisits, versions, events — now refers to it; a copy's
version goes when the kept row has one), then events that became the same event are merged the
same way (their alert messages kept, on the kept event). Nothing a record says is lost: the rows
merged are copies.
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

_UNIQUE = {
    "ux_captures_record_target": ("captures", ["record_id", "target"]),
    "ux_events_capture_kind": ("events", ["target", "url", "kind", "to_capture"]),
}


def _copies(table: str, columns: list[str]) -> list[tuple[int, int]]:
    """(id of a copy, id of the oldest row of its group) for every row of `table` that repeats
    the `columns` of an older one."""
    cols = ", ".join(columns)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    same = " AND ".join(f"t.{c} = k.{c}" for c in columns)
    query = (
        f"SELECT t.id, k.keep FROM {table} AS t JOIN (SELECT {cols}, MIN(id) AS keep FROM {table} "
        f"WHERE {not_null} GROUP BY {cols} HAVING COUNT(*) > 1) AS k ON {same} "
        "WHERE t.id <> k.keep ORDER BY t.id"
    )
    return [(r[0], r[1]) for r in op.get_bind().execute(sa.text(query))]


def _merge_captures() -> None:
    bind = op.get_bind()
    copies = _copies("captures", _UNIQUE["ux_captures_record_target"][1])
    for copy, keep in copies:
        ids = {"copy": copy, "keep": keep}
        for sql in (
            "UPDATE captures SET revisit_of = :keep WHERE revisit_of = :copy",
            "UPDATE events SET from_capture = :keep WHERE from_capture = :copy",
            "UPDATE events SET to_capture = :keep WHERE to_capture = :copy",
            "DELETE FROM versions WHERE capture_id = :copy "
            "AND EXISTS (SELECT 1 FROM versions AS v WHERE v.capture_id = :keep)",
            "UPDATE versions SET capture_id = :keep WHERE capture_id = :copy",
            "DELETE FROM captures WHERE id = :copy",
        ):
            bind.execute(sa.text(sql), ids)
    if copies:
        log.warning(
            "catalog: %d repeated capture rows merged into the rows they copied", len(copies)
        )


def _merge_events() -> None:
    bind = op.get_bind()
    copies = _copies("events", _UNIQUE["ux_events_capture_kind"][1])
    for copy, keep in copies:
        ids = {"copy": copy, "keep": keep}
        bind.execute(sa.text("UPDATE outbox SET event_id = :keep WHERE event_id = :copy"), ids)
        bind.execute(sa.text("DELETE FROM events WHERE id = :copy"), ids)
    if copies:
        log.warning("catalog: %d repeated events merged into the events they copied", len(copies))


def upgrade() -> None:
    _merge_captures()
    _merge_events()
    for name, (table, columns) in _UNIQUE.items():
        op.create_index(name, table, columns, unique=True)
    op.add_column("warc_files", sa.Column("folder", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.drop_column("folder")
    for name, (table, _) in _UNIQUE.items():
        op.drop_index(name, table_name=table)
