"""The daemon's jobs in the catalog's job store: stored by the path `monitor.daemon:run_target`,
which APScheduler resolves again when a later daemon loads them, whatever module defines it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.util import ref_to_obj
from sqlalchemy import create_engine, text

import monitor.daemon
from monitor.config import loads_config
from monitor.daemon.jobs import catalog_job_store, reconcile
from monitor.daemon.options import DaemonOptions
from tests.conftest import write_config


def scheduler_on(engine) -> BackgroundScheduler:
    s = BackgroundScheduler(jobstores={"default": catalog_job_store(engine)}, timezone=UTC)
    s.start(paused=True)
    return s


def test_stored_jobs_call_monitor_daemon_run_target_and_a_new_daemon_resolves_it(tmp_path):
    path = write_config(
        tmp_path, [{"name": "news", "urls": ["http://127.0.0.1:9/"], "every": "1h"}]
    )
    config = loads_config(path.read_text(), path)
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite'}")

    first = scheduler_on(engine)
    reconcile(first, config, datetime.now(UTC), random.Random(1), DaemonOptions())
    first.shutdown(wait=False)

    with engine.connect() as conn:  # what the catalog holds: the job, by id
        assert conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all() == [
            "target:news"
        ]
    again = scheduler_on(engine)  # as the next `warcwatch run` loads it
    try:
        (job,) = again.get_jobs()
        assert job.func_ref == "monitor.daemon:run_target"
        assert job.func is monitor.daemon.run_target
        assert job.args == ("news",)
    finally:
        again.shutdown(wait=False)
    assert ref_to_obj("monitor.daemon:run_target") is monitor.daemon.run_target
