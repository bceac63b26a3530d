"""Registers the CLI commands that live in modules of their own (one module per area)."""
from monitor.cli import lookup  # noqa: F401 - show, export, index
from monitor.cli import monitoring  # noqa: F401 - changes, diff
