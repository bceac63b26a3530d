"""daemon: per-target run history of `warcwatch run`

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:20:00

(APScheduler's own job table, apscheduler_jobs, is created by its SQLAlchemyJobStore.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemon_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("daemon_runs", schema=None) as batch_op:
        batch_op.create_index("ix_daemon_runs_target", ["target", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("daemon_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_daemon_runs_target")
    op.drop_table("daemon_runs")
