"""What every WARC writer process needs, made ready once in the fork server the writers fork from
(storage.writer_process): the writer's modules imported, the SQLite dialect loaded, the ORM's
mappers configured and the software versions read. Each writer inherits them, so a pass's writer
answers within milliseconds of its start instead of redoing ~0.1 s of this every pass (a daemon
runs thousands of small passes)."""

from __future__ import annotations

import sqlalchemy.dialects.sqlite  # noqa: F401 - the catalog's default; PostgreSQL's loads on use
from sqlalchemy.orm import configure_mappers

import storage.catalog  # noqa: F401
import storage.records  # noqa: F401
import storage.warcfile  # noqa: F401
from storage import writer
from storage.evidence import log

configure_mappers()
writer._software()
log.tool()
