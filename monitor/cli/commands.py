"""Registers the CLI commands that live in modules of their own (one module per area)."""
from monitor.cli import (
    daemon,  # noqa: F401 - run, status, reload, repair
    lookup,  # noqa: F401 - show, export, index
    monitoring,  # noqa: F401 - changes, diff
    serve,  # noqa: F401 - serve (the web UI)
)
