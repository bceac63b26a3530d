"""The lookup of a catalog, by its database URL: the one place that chooses between the two
`storage.lookup.Lookup` implementations.

A module of its own so that `storage.lookup` imports neither SQLAlchemy nor the ORM modules, not
even lazily: the fast path of `show` and `captures` stays SQLAlchemy-free.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from storage.lookup import Lookup, SqliteLookup, open_sqlite


@contextmanager
def open_lookup(database_url: str) -> Iterator[Lookup[Any]]:
    """The lookup of the catalog at `database_url`, for one use: `SqliteLookup` when it is a
    current SQLite file (no SQLAlchemy import), else `storage.retrieval.SessionLookup` through
    `storage.catalog.open_catalog`, which creates or migrates the catalog first."""
    conn = open_sqlite(database_url)
    if conn is not None:
        with closing(conn):
            yield SqliteLookup(conn)
        return
    from sqlalchemy.orm import Session

    from storage.catalog import open_catalog
    from storage.retrieval import SessionLookup

    with Session(open_catalog(database_url)) as session:
        yield SessionLookup(session)
