"""APScheduler's job store in the catalog, made to outlive a full disk.

After each run is submitted, APScheduler saves the job's next run time; with the disk full that
save raises in the scheduler's own thread, which dies, and the daemon would never schedule again.
Here a job that cannot be saved is kept in memory, and every look for due jobs first saves it:
while the disk is full that look fails too, which APScheduler answers by trying again after
`jobstore_retry_interval` (10 s), quietly. Once there is room, scheduling picks up where it was.
"""

from __future__ import annotations


def catalog_job_store(engine):
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy.exc import SQLAlchemyError

    class CatalogJobStore(SQLAlchemyJobStore):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._unsaved: dict = {}  # job id → job whose new state is not in the catalog yet

        def update_job(self, job):
            try:
                super().update_job(job)
            except SQLAlchemyError:
                self._unsaved[job.id] = job
            else:
                self._unsaved.pop(job.id, None)

        def remove_job(self, job_id):
            self._unsaved.pop(job_id, None)
            super().remove_job(job_id)

        def get_due_jobs(self, now):
            for job in list(self._unsaved.values()):
                try:
                    super().update_job(job)  # raises while the disk is full: tried again in 10 s
                except JobLookupError:
                    pass
                del self._unsaved[job.id]
            return super().get_due_jobs(now)

    return CatalogJobStore(engine=engine)
