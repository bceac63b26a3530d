"""Registers the CLI commands that live in modules of their own (one module per area)."""
