"""WARC files on S3-compatible object storage (`[archive] warc_dir = "s3://bucket/prefix"`): where
an archive's files are (`WarcStorage`: the local folder, and the store when there is one), the
store itself through fsspec/s3fs (`ObjectStore`: ranged reads, listing, a confirmed upload), and
reading one WARC file from wherever it is (`open_warc`).

Files are always written in the local folder (`….warc.gz.open`, fsynced before their rows are
committed, as on a local archive) and uploaded once finished (storage.uploads); the local copy is
what is read while it exists, the object after. An object appears only under a closed file's
name and only whole: a PUT, or a multipart upload's completion, is atomic in S3, so neither an
`.open` name nor half a file is ever seen in the store.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from storage.errors import ArchiveError
from storage.warcfile import OPEN_SUFFIX

log = logging.getLogger(__name__)

SCHEME = "s3://"
# Parts of a multipart upload (s3fs uploads in one PUT below twice this): fixed, so that the
# ETag S3 gives the object can be computed from the local file (storage.objects._expected_etag)
PART_SIZE = 64 * 2**20
_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})(-\d+)?"?$')


def _s3_errors() -> tuple[type[BaseException], ...]:
    """What s3fs and botocore raise when the store cannot be reached or refuses (s3fs turns most
    answers into OSError; a connection failure or bad configuration stays botocore's)."""
    errors: list[type[BaseException]] = [OSError, ValueError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        errors += [BotoCoreError, ClientError]
    except ImportError:
        pass
    return tuple(errors)


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible bucket and prefix. Endpoint, region and credentials given here override
    the standard AWS environment (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_PROFILE…), which botocore reads for whatever is left unset."""

    url: str  # s3://bucket/prefix, no trailing slash
    endpoint_url: str | None = None
    region: str | None = None
    key: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.url.startswith(SCHEME) or not self.url.removeprefix(SCHEME).strip("/"):
            raise ArchiveError(f"{self.url!r} is not an s3://bucket/prefix URL")
        object.__setattr__(self, "url", self.url.rstrip("/"))

    def fs(self) -> Any:
        """The s3fs file system (one per process and settings: fsspec caches instances, and
        makes new ones in a forked child)."""
        try:
            import s3fs
        except ImportError:
            raise ArchiveError(
                f"WARC files on {self.url} need s3fs: pip install 'warcwatch[s3]'"
            ) from None
        client: dict[str, str] = {}
        if self.endpoint_url:
            client["endpoint_url"] = self.endpoint_url
        if self.region:
            client["region_name"] = self.region
        return s3fs.S3FileSystem(key=self.key, secret=self.secret, client_kwargs=client)

    def path(self, name: str) -> str:
        """The object of WARC file `name`, as s3fs names it (bucket/prefix/name)."""
        if name.endswith(OPEN_SUFFIX):
            raise ArchiveError(f"{name}: an open WARC file is never stored as an object")
        return f"{self.url.removeprefix(SCHEME)}/{name}"

    def object_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def read_range(self, name: str, offset: int, length: int) -> bytes | None:
        """`length` bytes of object `name` from `offset` (one ranged GET); None when there is no
        such object."""
        try:
            return bytes(self.fs().cat_file(self.path(name), start=offset, end=offset + length))
        except FileNotFoundError:
            return None
        except _s3_errors() as exc:
            raise ArchiveError(f"cannot read {self.object_url(name)}: {_reason(exc)}") from None

    def open(self, name: str) -> IO[bytes] | None:
        """Object `name` as a read-only seekable file (fsspec reads it in blocks); None when there
        is no such object."""
        try:
            return self.fs().open(self.path(name), "rb")
        except FileNotFoundError:
            return None
        except _s3_errors() as exc:
            raise ArchiveError(f"cannot read {self.object_url(name)}: {_reason(exc)}") from None

    def listing(self) -> dict[str, int]:
        """Every WARC object under the prefix: name → size. Raises ArchiveError when the store
        cannot say (a repair must then not take any file for lost)."""
        fs = self.fs()
        root = self.url.removeprefix(SCHEME)
        try:
            found = fs.find(root, detail=True, withdirs=False, refresh=True)
        except FileNotFoundError:
            return {}
        except _s3_errors() as exc:
            raise ArchiveError(f"cannot list {self.url}: {_reason(exc)}") from None
        out: dict[str, int] = {}
        for path, info in found.items():
            name = path.removeprefix(root + "/")
            if "/" not in name and name.endswith(".warc.gz"):
                out[name] = int(info["size"])
        return out

    def upload(self, local: Path, name: str) -> str:
        """Upload local file `local` as object `name` and confirm it: the object's size, and its
        ETag (an MD5 computed here the way S3 makes it) or, where the store's ETags are not MD5s
        (SSE-KMS, some servers), its SHA-256 read back. Returns the object's URL; raises
        ArchiveError when it cannot be confirmed (the file is then left as it is: local)."""
        fs, path = self.fs(), self.path(name)
        size = local.stat().st_size
        try:
            fs.put_file(str(local), path, chunksize=PART_SIZE)
            info = fs.info(path, refresh=True)
        except _s3_errors() as exc:
            raise ArchiveError(f"cannot upload {name} to {self.url}: {_reason(exc)}") from None
        if int(info.get("size", -1)) != size:
            raise ArchiveError(
                f"{self.object_url(name)}: {info.get('size')} bytes stored, {size} uploaded"
            )
        etag = str(info.get("ETag") or info.get("etag") or "")
        if _MD5_ETAG.match(etag):
            if etag.strip('"') != _expected_etag(local, size):
                raise ArchiveError(f"{self.object_url(name)}: its ETag is not the file's")
        elif self._sha256(path) != _sha256(local):
            raise ArchiveError(f"{self.object_url(name)}: its bytes read back differ")
        return self.object_url(name)

    def _sha256(self, path: str) -> str:
        h = hashlib.sha256()
        try:
            with self.fs().open(path, "rb", block_size=8 * 2**20) as f:
                while chunk := f.read(8 * 2**20):
                    h.update(chunk)
        except _s3_errors() as exc:
            raise ArchiveError(f"cannot read back {path}: {_reason(exc)}") from None
        return h.hexdigest()


def _expected_etag(local: Path, size: int) -> str:
    """The ETag S3 gives an object uploaded by s3fs's put_file with PART_SIZE chunks: the MD5 of
    the bytes for one PUT, or the MD5 of the parts' MD5s and "-parts" for a multipart upload."""
    with open(local, "rb") as f:
        if size < min(5 * 2**30, 2 * PART_SIZE):
            return hashlib.file_digest(f, "md5").hexdigest()
        digests = []
        while chunk := f.read(PART_SIZE):
            digests.append(hashlib.md5(chunk).digest())
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def _sha256(local: Path) -> str:
    with open(local, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


@dataclass(frozen=True)
class WarcStorage:
    """Where an archive's WARC files are: the local folder (all of them, or, with a store, the
    files being written and those not uploaded yet) and the object store, if any."""

    local: Path
    objects: ObjectStore | None = None


# What the readers take: a local folder, or the folder with its store.
Warcs = Path | WarcStorage


def storage_of(warcs: Warcs) -> WarcStorage:
    return warcs if isinstance(warcs, WarcStorage) else WarcStorage(warcs)


def where(warcs: Warcs, name: str) -> str:
    """Where file `name` is looked for, for messages."""
    w = storage_of(warcs)
    return f"{w.local}" + (f" nor in {w.objects.url}" if w.objects is not None else "")


def open_warc(warcs: Warcs, name: str) -> tuple[IO[bytes], bool] | None:
    """WARC file `name` opened for reading, and whether it is closed (not `.open`): the local copy
    while there is one, else its object; None when it is in neither."""
    w = storage_of(warcs)
    # the closed name asked again last: a writer may rename `.open` to closed between two looks
    closed_path, open_path = w.local / name, w.local / (name + OPEN_SUFFIX)
    for path, closed in ((closed_path, True), (open_path, False), (closed_path, True)):
        try:
            return open(path, "rb"), closed
        except FileNotFoundError:
            continue
    if w.objects is not None:
        f = w.objects.open(name)
        if f is not None:
            return f, True
    return None
