"""Alembic migrations of the catalog. HEAD names the newest revision, so opening a catalog that is
already current needs no Alembic import (the CLI's lookups stay fast)."""

HEAD = "0010"
