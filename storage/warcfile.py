"""One WARC file on disk: named, opened as `….warc.gz.open`, one gzip member per record, renamed
when closed, reopened for appending while it is young (`WarcFile.reopen`), and the byte span of
every record it writes.

warcio writes the records; this module only owns the file around them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import socket
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Protocol

from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from storage.digests import DEFAULT
from storage.timestamps import from_datetime

isal_zlib: ModuleType | None
try:  # ISA-L's deflate: ~4x less CPU than zlib's level 1, 5 % smaller (benchmarks/RESULTS-crawl.md)
    from isal import isal_zlib
except ImportError:  # no wheel for this platform: stdlib zlib, the same standard gzip members
    isal_zlib = None

OPEN_SUFFIX = ".open"
_serial = itertools.count()
# Writer processes fork from one fork server: give each child its own serials, so that two
# writers opening files in the same second rarely pick the same name (WarcFile settles it if so).
os.register_at_fork(
    after_in_child=lambda: globals().__setitem__(
        "_serial", itertools.count((os.getpid() % 100) * 1000)
    )
)


@dataclass(frozen=True)
class Span:
    """Where one record (one gzip member) lies in its WARC file."""

    offset: int
    length: int
    sha256: str = ""  # hex SHA-256 of the member's bytes as stored (the evidence log keeps it)


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


def compressor(level: int) -> Callable[[], _Compressor]:
    """What makes each record's gzip compressor at `level` (wbits 31: a whole gzip member).

    Level 1 (the default) goes through ISA-L when `isal` is installed: its output is ordinary
    deflate in ordinary gzip members, which every reader (zlib, warcio, pywb, `gzip -t`) reads.
    ISA-L's levels stop at 3, so any other level keeps stdlib zlib: a user asking for smaller
    files (`gzip_level = 9`) gets zlib's smaller files."""
    isal = isal_zlib
    if level == 1 and isal is not None:
        return lambda: isal.compressobj(1, isal.DEFLATED, isal.MAX_WBITS + 16)
    return lambda: zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)


class _GzipMembers:
    """A file wrapper that gzips each record as its own member, at a chosen level.

    warcio's own gzip wrapper hard-codes level 9, which costs ~4× the CPU of level 1 for a few
    percent of disk and made the writer the crawl's bottleneck. warcio calls `flush()` once at the
    end of every record, which is where a member ends, so we hand it this object with gzip=False.
    """

    def __init__(self, raw, level: int):
        self.raw = raw
        self.level = level
        self._new = compressor(level)
        self.spans: list[Span] = []
        self._start = raw.tell()
        self._compressor = self._new()
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        out = self._compressor.compress(data)
        self._hash.update(out)
        self.raw.write(out)

    def flush(self) -> None:
        out = self._compressor.flush()
        self._hash.update(out)
        self.raw.write(out)
        end = self.raw.tell()
        self.spans.append(Span(self._start, end - self._start, self._hash.hexdigest()))
        self._start = end
        self._compressor = self._new()
        self._hash = hashlib.sha256()


class _Writer(WARCWriter):
    """warcio's writer with the archive's digest algorithm: its record builders take the
    algorithm from `_create_digester`, which warcio fixes to sha1."""

    def __init__(self, *args, digest: str = DEFAULT, **kwargs):
        super().__init__(*args, **kwargs)
        self.digest_algorithm = digest

    def _create_digester(self) -> Digester:
        return Digester(self.digest_algorithm)


def claim(fd: int) -> None:
    """Lock an `.open` file for as long as its writer holds it open: storage.repair leaves a locked
    file alone, whichever process, user or container (pid namespace) the writer runs in, and the
    kernel drops the lock when the writer dies. Where the file system has no flock, repair still
    finds the writer through /proc, if it can see it."""
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a repair's probe (storage.repair) looks


def is_claimed(path: Path) -> bool:
    """Does a live writer hold the lock of `path` (see `claim`)? False once it has been renamed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # no flock here: not known to be held
        return False
    finally:
        os.close(fd)  # and with it our own shared lock
    return False


FOLDER_ID = ".warcwatch-folder"


def folder_id(directory: Path, create: bool = True) -> str | None:
    """The identity of a WARC folder: a random id kept in `directory/.warcwatch-folder`, made on
    first use (`create`), None where there is none and none can be made (read-only media).

    Each `warc_files` row names the folder its file was written to, so that a repair, which
    deletes the rows of files missing from its folder, knows which files its folder should hold:
    processes on other machines may share the catalog (PostgreSQL) with folders of their own."""
    path = directory / FOLDER_ID
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip() or None
    if not create:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f"{FOLDER_ID}.{os.getpid()}.tmp"
        tmp.write_text(uuid.uuid4().hex + "\n")
        try:
            os.link(tmp, path)  # atomic: of two processes making it at once, one id wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip() or None
    except OSError:
        return None


@contextlib.contextmanager
def folder_lock(directory: Path, wait: bool = True) -> Iterator[bool]:
    """flock on the WARC folder itself (no lock file among the WARCs), held by a repair for its
    whole run and by an upload (storage.uploads); `WarcFile.reopen` takes a file only while it is
    free. Yields whether it is held: False when `wait` is off and another process holds it; True
    too where it cannot be had at all (no such folder yet, or a file system without flock: the
    catalog's lock still serialises repairs)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except OSError:
            pass
        yield True
    finally:
        os.close(fd)  # and with it the lock


def fsync_dir(directory: Path) -> None:
    """Make a rename or removal in `directory` durable (where the file system lets us)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def warc_name(prefix: str, when: datetime, host: str | None = None) -> str:
    """`{prefix}-{14-digit UTC}-{serial:05d}-{host}.warc.gz`"""
    host = (host or socket.gethostname()).replace("-", "_").replace(".", "_")
    return f"{prefix}-{from_datetime(when)}-{next(_serial):05d}-{host}.warc.gz"


class WarcFile:
    """An open WARC file. `write(*records)` returns each record's span once it is flushed."""

    def __init__(self, directory: Path, name: str, gzip_level: int = 1, digest: str = DEFAULT):
        directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.path = directory / name
        self.open_path = directory / (name + OPEN_SUFFIX)
        # The name is ours once we hold NAME.open ('xb': created by us, or not at all) and no
        # closed NAME exists: a closed file only ever appears by renaming its NAME.open, so a
        # writer that picked the same name either still holds NAME.open (our open fails) or has
        # renamed it already (the check after it fails). Checking before opening is not enough.
        raw = open(self.open_path, "xb")
        claim(raw.fileno())
        if self.path.exists():
            raw.close()
            self.open_path.unlink()
            raise FileExistsError(self.path)
        self._start(raw, gzip_level, digest)

    def _start(self, raw, gzip_level: int, digest: str) -> None:
        self._raw = raw
        self._members = _GzipMembers(self._raw, gzip_level)
        self._writer = _Writer(self._members, gzip=False, warc_version="1.1", digest=digest)

    @classmethod
    def reopen(
        cls, directory: Path, name: str, gzip_level: int = 1, digest: str = DEFAULT
    ) -> WarcFile | None:
        """Take closed file `directory/name` back as `name.open`, to append records to it; None
        when it cannot be had safely: gone, held by another writer, or a repair is running.

        Each record is a gzip member of its own, so members appended to a closed file make a valid
        file again, and the records already there keep their offsets (catalog rows, evidence log
        entries). Safe against the other processes of the folder:
        - another writer: the file is claimed (flock) before it is renamed, and renamed back
          before it is let go, so of two writers wanting it one gets it and the other opens a
          new file; the inode is checked after locking, in case the name changed meanwhile;
        - a repair: it holds the folder's lock for its whole run (storage.repair), and the file
          is taken only while that lock is free, so a repair never sees a closed file it is
          reading become an open one; once `.open` and claimed, repair leaves it alone, and if
          this writer dies it cuts the file after its last whole record like any `.open` file.
        """
        path, open_path = directory / name, directory / (name + OPEN_SUFFIX)
        try:
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a repair runs: not now
            except OSError:
                return None
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                return None
            try:
                # no flock on this file system: two writers could not tell each other apart
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    raise FileNotFoundError(path)  # replaced since we opened it
                # link, not rename: it fails rather than replace a `.open` of the same name
                os.link(path, open_path)
                os.unlink(path)
                # held under the new name, so that /proc shows who holds it (storage.repair's
                # fallback; the tests' too): no other process can take it meanwhile, for no
                # writer reopens an `.open` name, and no repair runs while we hold the folder
                held = os.open(open_path, os.O_RDWR)
            except OSError:
                os.close(fd)
                return None
            os.close(fd)  # and with it the lock, taken again at once on `held`
            claim(held)
        finally:
            os.close(dir_fd)  # and with it the folder's lock
        raw = os.fdopen(held, "r+b")
        raw.seek(0, os.SEEK_END)
        f = cls.__new__(cls)
        f.name, f.path, f.open_path = name, path, open_path
        f._start(raw, gzip_level, digest)
        return f

    @property
    def writer(self) -> WARCWriter:
        """warcio's writer: use its record builders (create_warc_record, create_revisit_record…)."""
        return self._writer

    @property
    def size(self) -> int:
        return self._raw.tell()

    def write(self, *records) -> list[Span]:
        before = len(self._members.spans)
        try:
            for record in records:
                self._writer.write_record(record)
            self._raw.flush()
        except OSError as exc:  # a full disk says ENOSPC, not which file: name it
            exc.filename = exc.filename or str(self.open_path)
            raise
        self._unsynced = True
        return self._members.spans[before:]

    _unsynced = True  # bytes written since the last fsync (the warcinfo, at least, on opening)

    def sync(self) -> None:
        """Make what was written durable, before the catalog rows that point at it are committed.
        A file with nothing new costs nothing: a pass can hold hundreds of files open."""
        if not self._unsynced:
            return
        try:
            self._raw.flush()
            os.fsync(self._raw.fileno())
        except OSError as exc:
            exc.filename = exc.filename or str(self.open_path)
            raise
        self._unsynced = False

    def close(self) -> Path:
        self.sync()
        # Renamed while still held open (and locked): a repair beside us (the daemon's, after a
        # writer died) leaves alone any `.open` file a live writer holds, so it must never see this
        # one unheld.
        os.replace(self.open_path, self.path)
        self._raw.close()
        return self.path

    def abandon(self) -> Path:
        """Let go of the file after a write failed (a full disk), without finishing it: the bytes
        that did not reach the disk are dropped. Returns its `.open` path, for
        storage.repair.close_open_file to cut after its last whole record."""
        with contextlib.suppress(OSError):
            self._raw.close()  # the flush fails again, but the file is closed all the same
        return self.open_path
