"""Errors the storage package raises; warcio and SQLAlchemy errors are converted to these at its
boundary.

`WarcwatchError`, the base of every error a user can cause and fix, lives here, at the bottom of
the dependency rule (storage ← crawler ← monitor), so that each package can raise its own kinds
of it; monitor.errors re-exports it with the monitor's."""


class WarcwatchError(Exception):
    """Base of the errors a user can cause and fix; the CLI turns each into one line on stderr."""


class ArchiveError(WarcwatchError):
    """The archive (WARC files or catalog) cannot be read or written."""


class CaptureNotFound(ArchiveError):
    """No capture matches the URL (and time) asked for."""


class DiskFull(ArchiveError):
    """The archive's disk has no room left: the user makes room and runs again."""


def write_error(exc: BaseException, catalog: str | None = None) -> ArchiveError | None:
    """One line for a failure to write the archive that the user has to fix (a full disk, a
    read-only folder): `disk full writing …/warcs/NAME.warc.gz.open: no space left`. None for any
    other error, which is a bug and keeps its traceback. `catalog` is the database URL written to
    (only a SQLite file is named: another URL may hold a password)."""
    import errno

    if catalog is not None:
        catalog = catalog.split("///", 1)[1] if catalog.startswith("sqlite:///") else None

    if isinstance(exc, OSError):
        where = exc.filename or "the archive"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFull(f"disk full writing {where}: no space left")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return ArchiveError(f"cannot write {where}: {exc.strerror}")
        return None
    orig = getattr(exc, "orig", exc)  # SQLAlchemy wraps the driver's error
    text = str(orig).lower()
    # SQLite says "disk I/O error" when a full disk stops it creating its journal or WAL file
    # (opening the catalog, not writing a row): the disk's free space tells the two apart
    if (
        "database or disk is full" in text
        or getattr(orig, "sqlstate", None) == "53100"
        or ("disk i/o error" in text and catalog is not None and _no_room(catalog))
    ):
        return DiskFull(
            f"disk full writing the catalog{f' {catalog}' if catalog else ''}: no space left"
        )
    if "attempt to write a readonly database" in text:
        return ArchiveError(
            f"cannot write the catalog{f' {catalog}' if catalog else ''}: it is read-only"
        )
    return None


def _no_room(path: str) -> bool:
    """Whether the filesystem holding `path` has less than a few SQLite pages free."""
    import os

    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024
