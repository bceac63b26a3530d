"""warcwatch's understanding side: the watchlist, change detection, alerts, the daemon and the
CLI."""
