"""Passes on a distributed task queue (`[cluster] runner = "procrastinate"`): the daemon only
schedules, `warcwatch worker` processes on any machine run the passes.

Decision: procrastinate (a PostgreSQL task queue) rather than Celery, scrapyd or scrapy-redis
(issue 14 has the measurements): the catalog's PostgreSQL is the one service; workers heartbeat
and the passes of a dead one are retried elsewhere; `queueing_lock` keeps at most one waiting job
per target, `lock` runs at most one job per host at a time across the cluster.

- queue     the procrastinate app over the catalog's database, its schema, the pass job
            (its queueing lock and host lock), the retry of stalled jobs
- leader    the advisory lock that makes one daemon the scheduler, and `warcwatch run` as a
            scheduler that defers passes instead of running them
- worker    `warcwatch worker`: procrastinate's worker, each pass in a child process as the local
            daemon runs it (monitor.daemon.worker, monitor.daemon.child, their protocol)
- status    the cluster's part of `warcwatch status`: leader, standbys, workers, the queue
"""
