"""Every `warcwatch` command: its name and where it lives (`module:function`). The group in
`monitor.cli` reads this table and imports a command's module only when that command runs (or
`--help` lists it), so `captures` and `show` start without Scrapy, and nothing is registered
as a side effect of importing anything."""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    # a pass, now
    "crawl": "monitor.cli.crawling:crawl",
    "demo": "monitor.cli.crawling:demo",
    # the archive read back
    "captures": "monitor.cli.lookup:captures",
    "show": "monitor.cli.lookup:show",
    "export": "monitor.cli.lookup:export",
    "index": "monitor.cli.lookup:index",
    # what changed
    "changes": "monitor.cli.monitoring:changes",
    "diff": "monitor.cli.monitoring:diff",
    # the daemon
    "run": "monitor.cli.daemon:run",
    "status": "monitor.cli.daemon:status",
    "reload": "monitor.cli.daemon:reload",
    "repair": "monitor.cli.daemon:repair",
    "_worker": "monitor.cli.daemon:worker",
    # evidence: the archive checked against its log, receipts of events
    "verify": "monitor.cli.evidence:verify",
    "receipt": "monitor.cli.evidence:receipt",
    # the cluster's passes (`[cluster] runner = "procrastinate"`)
    "worker": "monitor.cli.daemon:cluster_worker",
    # the archive's signing identity
    "key": "monitor.cli.keys:key",
    # the web UI
    "serve": "monitor.cli.serve:serve",
}
