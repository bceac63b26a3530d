"""The capture catalog: opening the database (SQLite in WAL mode by default, any SQLAlchemy URL),
migrating it with Alembic, and the queries the rest of warcwatch asks of it."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from storage.enums import REPLAYABLE, RecordKind, RunStatus
from storage.errors import ArchiveError, write_error
from storage.migrations import HEAD
from storage.models import Capture, ChangeEvent, CrawlRun, TargetRow
from storage.surt import surt
from storage.timestamps import utcnow

_MIGRATIONS = Path(__file__).with_name("migrations")


def open_catalog(url: str, migrate: bool = True) -> Engine:
    """An engine on the catalog at `url`, migrated to the newest schema. A SQLite catalog on
    read-only media (an evidence copy) is opened read-only and immutable, without migrating."""
    if url.startswith("sqlite:///") and read_only_sqlite(url):
        return _open_read_only(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread off: the runner analyses a pass in a worker thread (one session per thread)
    try:
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False}
            if url.startswith("sqlite")
            else {},
        )
    except ModuleNotFoundError as exc:
        raise ArchiveError(
            f"cannot open catalog {shown(url)}: its database driver {exc.name} is not installed "
            "(for PostgreSQL: pip install 'warcwatch[postgres]')"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        try:
            _migrate(engine)
        except SQLAlchemyError as exc:
            if (full := write_error(exc, url)) is not None:
                raise full from None
            cause = str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines()[0]
            raise ArchiveError(
                f"cannot open catalog {shown(url)}: {exc.__class__.__name__}: {cause}"
            ) from None
    return engine


def shown(url: str) -> str:
    """A catalog URL as messages name it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def read_only_sqlite(url: str) -> bool:
    """Is `url` an existing SQLite catalog in a folder nobody may write (read-only media)? There
    SQLite cannot make the WAL's -shm file, so a normal open fails."""
    path = Path(url.removeprefix("sqlite:///"))
    return "?" not in url and path.is_file() and not os.access(path.parent, os.W_OK)


def _open_read_only(url: str) -> Engine:
    path = Path(url.removeprefix("sqlite:///")).resolve()
    engine = create_engine(f"sqlite:///{path.as_uri()}?mode=ro&immutable=1&uri=true")
    try:
        revision = _current_revision(engine)
    except SQLAlchemyError as exc:
        raise ArchiveError(f"cannot open read-only catalog {path}: {exc}") from None
    if revision != HEAD:
        raise ArchiveError(
            f"the read-only catalog {path} has schema {revision}, this warcwatch reads {HEAD}: "
            "copy it somewhere writable (it is then migrated) or use the warcwatch that wrote it"
        )
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL: the crawler's writer process inserts while the CLI and web UI read.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError:
            return None
        except SQLAlchemyError:
            return None


def _migrate(engine: Engine) -> None:
    if _current_revision(engine) == HEAD:
        return  # the common case, without importing Alembic (≈0.1 s)
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # processes started together on a new database (a cluster's scheduler and workers)
            # migrate one at a time: the next one waits here, then finds the schema at head
            key = zlib.crc32(b"warcwatch:migrate")
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# --- several writers on one catalog -------------------------------------------------------------


def serialise(session: Session, name: str) -> None:
    """Hold the catalog-wide lock `name` until the session's transaction ends, so that one process
    at a time, on any machine, does the work it guards (a repair). PostgreSQL: a transaction-level
    advisory lock. SQLite serialises its writers itself (one at a time per database file)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"warcwatch:{name}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class CatalogLock:
    """A lock on the whole catalog that one process holds for as long as it runs (the daemon).
    PostgreSQL: a session-level advisory lock on a connection of its own, dropped by the server
    when that process dies. SQLite: nothing to hold (its catalog is a file in the archive folder,
    where the daemon's pid file is locked)."""

    def __init__(self, connection: Connection | None) -> None:
        self._connection = connection

    @classmethod
    def try_acquire(cls, engine: Engine, name: str) -> CatalogLock | None:
        """The lock `name`, or None when another process holds it."""
        if engine.dialect.name != "postgresql":
            return cls(None)
        conn = engine.connect()
        key = zlib.crc32(f"warcwatch:{name}".encode())
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        conn.commit()  # the lock outlives the transaction; the connection must not sit in one
        if not got:
            conn.close()
            return None
        return cls(conn)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # the session ends, and with it the lock
            self._connection = None


def insert_unless_present(
    session: Session, model: type, values: Mapping[str, object], keys: Iterable[str]
) -> int | None:
    """Insert a row of `model` unless one with the same `keys` (a unique index of its table)
    exists: the new row's id, or None when there was one. `INSERT … ON CONFLICT DO NOTHING` on
    SQLite and PostgreSQL: of two writers racing for one row, both succeed and one row is made.
    Another database gets a plain INSERT (a duplicate is then an IntegrityError)."""
    dialect = session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = (
            sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
        )
    else:
        stmt = insert(model).values(**values)
    return session.execute(stmt.returning(model.id)).scalar()  # type: ignore[attr-defined]


# --- targets and runs ---------------------------------------------------------------------------


def ensure_targets(session: Session, targets: Iterable[tuple[str, str]]) -> None:
    have = {t.name: t for t in session.scalars(select(TargetRow))}
    for name, kind in targets:
        if name in have:
            have[name].kind = kind
        else:
            session.add(TargetRow(name=name, kind=kind, created_at=utcnow()))


def start_run(engine: Engine, target_names: list[str], target_kinds: dict[str, str]) -> int:
    with Session(engine) as s, s.begin():
        ensure_targets(s, target_kinds.items())
        run = CrawlRun(
            started_at=utcnow(), targets=target_names, status=RunStatus.RUNNING, stats={}
        )
        s.add(run)
        s.flush()
        return run.id


def finish_run(
    engine: Engine, run_id: int, stats: dict, status: RunStatus = RunStatus.FINISHED
) -> None:
    with Session(engine) as s, s.begin():
        run = s.get(CrawlRun, run_id)
        if run is None:  # start_run made it; only a hand-edited catalog lacks it
            raise ArchiveError(f"crawl run {run_id} is not in the catalog")
        run.finished_at = utcnow()
        run.status = status
        run.stats = stats


# --- captures -----------------------------------------------------------------------------------


def captures_of(session: Session, url: str) -> list[Capture]:
    """Every capture of `url` (matched by SURT), oldest first."""
    q = (
        select(Capture)
        .where(Capture.surt == surt(url))
        .order_by(Capture.timestamp, Capture.micros, Capture.id)
    )
    return list(session.scalars(q))


def latest_validators(
    session: Session, targets: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    """url → (ETag, Last-Modified) of its newest 200 capture by these targets, for conditional
    GETs."""
    newest = (
        select(Capture.url, func.max(Capture.id).label("id"))
        .where(
            Capture.target.in_(list(targets)),
            Capture.kind != RecordKind.FAILED,
            Capture.status == 200,
        )
        .group_by(Capture.url)
        .subquery()
    )
    q = select(Capture.url, Capture.etag, Capture.last_modified).join(
        newest, Capture.id == newest.c.id
    )
    return {url: (etag, lm) for url, etag, lm in session.execute(q) if etag or lm}


# captures in time order, ties (two captures of one microsecond) by id
TIME = tuple_(Capture.timestamp, Capture.micros, Capture.id)
_NEWEST_FIRST = (Capture.timestamp.desc(), Capture.micros.desc(), Capture.id.desc())


def time_of(capture: Capture) -> ColumnElement[Any]:
    """`capture`'s place in `TIME` order, to compare the column with."""
    return tuple_(literal(capture.timestamp), literal(capture.micros), literal(capture.id))


def content_captures(
    url: str, *, exact_url: bool = False, revisits: bool = False, before: Capture | None = None
) -> Select[Capture]:
    """The captures holding the content of `url`'s page (its 200 answers), newest first: the
    versions a person reads. The page is every URL of `url`'s SURT (the scheme and `www.` do not
    make another page), or with `exact_url` only `url` as it was fetched (what the monitor keeps
    state for). A 200 revisit repeats a response's payload: one version, so left out unless
    `revisits` (the monitor compares each fetch with the fetch before). With `before`, only the
    captures earlier than that one."""
    kinds = REPLAYABLE if revisits else (RecordKind.RESPONSE,)
    # a capture's own key as the catalog holds it, else the URL's
    key = before.surt if before is not None and before.url == url else surt(url)
    q = select(Capture).where(Capture.surt == key, Capture.kind.in_(kinds), Capture.status == 200)
    if exact_url:
        q = q.where(Capture.url == url)
    if before is not None:
        q = q.where(TIME < time_of(before))
    return q.order_by(*_NEWEST_FIRST)


def previous_content(
    session: Session, capture: Capture, *, exact_url: bool = False, revisits: bool = False
) -> Capture | None:
    """The newest content capture (see `content_captures`) of `capture`'s page before it: what
    a diff compares it with, and what the monitor compares a new fetch with."""
    q = content_captures(capture.url, exact_url=exact_url, revisits=revisits, before=capture)
    return session.scalars(q.limit(1)).first()


# What a new payload may be stored as a revisit of: a response or revisit with a digest that
# holds content (a 200, or a server-not-modified revisit standing for the 200 it refers to).
_PAYLOAD = (
    Capture.kind.in_(REPLAYABLE)
    & Capture.digest.is_not(None)
    & ((Capture.status == 200) | (Capture.revisit_profile == "server-not-modified"))
)


def previous_capture(session: Session, url: str) -> Capture | None:
    """The newest payload capture of exactly `url` (what a new payload is compared to)."""
    q = (
        select(Capture)
        .where(Capture.surt == surt(url), Capture.url == url, _PAYLOAD)
        .order_by(*_NEWEST_FIRST)
        .limit(1)
    )
    return session.scalars(q).first()


def previous_error(session: Session, url: str, status: int) -> tuple[str, Capture] | None:
    """(payload digest, capture holding it) of the newest `status` answer of exactly `url` (a 4xx
    or 5xx page), or None: a repeated error page is stored as a revisit of it."""
    q = (
        select(Capture)
        .where(
            Capture.surt == surt(url),
            Capture.url == url,
            Capture.status == status,
            Capture.kind.in_(REPLAYABLE),
            Capture.digest.is_not(None),
        )
        .order_by(Capture.id.desc())
        .limit(1)
    )
    newest = session.scalars(q).first()
    if newest is None or newest.digest is None:  # (the query selects rows with a digest)
        return None
    origin = session.get(Capture, newest.revisit_of) if newest.revisit_of else newest
    if origin is None:
        raise ArchiveError(f"capture {newest.id} revisits {newest.revisit_of}, not in the catalog")
    return newest.digest, origin


def event_counts(engine: Engine, run_id: int) -> dict[str, int]:
    with Session(engine) as s:
        q = (
            select(ChangeEvent.kind, func.count())
            .where(ChangeEvent.run_id == run_id)
            .group_by(ChangeEvent.kind)
        )
        return {kind: n for kind, n in s.execute(q)}


def previous_payloads(session: Session, targets: Iterable[str]) -> dict[str, tuple[str, Capture]]:
    """url → (payload digest, capture holding that payload) of the newest capture of each URL these
    targets archived: what a pass's writer compares new payloads to, fetched in one query."""
    newest = (
        select(func.max(Capture.id).label("id"))
        .where(Capture.target.in_(list(targets)), _PAYLOAD)
        .group_by(Capture.url)
        .subquery()
    )
    origin = aliased(Capture)
    q = (
        select(Capture.url, Capture.digest, origin)
        .join(newest, Capture.id == newest.c.id)
        .join(origin, origin.id == func.coalesce(Capture.revisit_of, Capture.id))
    )
    # (the query selects rows with a digest; the test tells the type checker so)
    return {url: (digest, orig) for url, digest, orig in session.execute(q) if digest is not None}


def rendered(session: Session, page: Capture, purpose: str) -> Capture | None:
    """What a browser made of the page fetch `page` (crawler.render): its DOM or screenshot
    (`purpose` DOM or SCREENSHOT), the resource capture WARC-Concurrent-To its record; None when
    the fetch was not rendered."""
    if page.record_id is None:
        return None
    q = (
        select(Capture)
        .where(Capture.concurrent_to == page.record_id, Capture.purpose == purpose)
        .order_by(Capture.id)
        .limit(1)
    )
    return session.scalars(q).first()
