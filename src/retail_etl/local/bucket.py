"""The local bucket: a folder standing for S3, ``<state>/bucket/<bucket-name>/<key>``.

An S3 key is a flat string; locally each ``/``-separated segment is a folder, so a key maps to exactly one file.
A stage URL ``s3://bucket/prefix`` covers every key that *starts with* the prefix, as in S3: a prefix without a
trailing ``/`` (``raw_data/cust``) also covers ``raw_data/customer/...`` (reference §4.1), so listing walks the
deepest folder that holds all such keys and filters by the prefix string.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BUCKET_FOLDER = "bucket"
# S3 bucket naming rules (lower-case letters, digits, dots, hyphens; 3 to 63 characters). They also keep a bucket
# name from ever being ``.``, ``..`` or the ``.incoming`` folder below.
_BUCKET_NAME = re.compile(r"\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
# put_file writes here first and renames into place, so a listing never sees half a file. The name is not a valid
# bucket name, so no stage can ever list it.
INCOMING = ".incoming"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BucketError(ValueError):
    """A URL or key that cannot stand for an S3 object locally (message safe to print)."""


def buckets_root(state_dir: Path) -> Path:
    """The folder holding one folder per bucket, under the local target's state folder."""
    return state_dir / BUCKET_FOLDER


def _check_key(key: str, *, what: str) -> None:
    """Keys become paths: an empty, ``.`` or ``..`` segment would not map to one file of its own (or would escape
    the bucket folder), so such keys are refused rather than silently merged with another key."""
    segments = key.split("/")
    if (
        key.startswith("/")
        or any(segment in ("", ".", "..") for segment in segments[:-1])
        or segments[-1] in (".", "..")
    ):
        raise BucketError(f"{what} {key!r} cannot be stored in the local bucket (empty, '.' or '..' path segment)")


@dataclass(frozen=True)
class S3Location:
    """``s3://<bucket>/<prefix>``: a bucket and a key prefix (empty for the whole bucket)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith("s3://"):
            raise BucketError(f"not an s3:// URL: {url!r}")
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not _BUCKET_NAME.match(bucket):
            raise BucketError(f"invalid S3 bucket name {bucket!r} in {url!r}")
        if prefix:
            _check_key(prefix, what="prefix")
        return cls(bucket, prefix)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def folder(self, root: Path) -> Path:
        """The deepest folder that holds every key under the prefix (the prefix itself when it ends with ``/``)."""
        directory = self.prefix.rpartition("/")[0]
        return root / self.bucket / directory if directory else root / self.bucket


@dataclass(frozen=True)
class StagedFile:
    """One object under a location, as S3's ListObjects describes it."""

    key: str
    relative_path: str  # the key without the listed location's prefix (put_file: the whole key)
    size: int
    last_modified: datetime  # UTC, microseconds (what S3 reports, to the precision DuckDB keeps)
    path: Path


def _modified(path: Path) -> datetime:
    # Nanoseconds to whole microseconds, exactly: a float timestamp would round differently on each read and make
    # an unchanged file look modified.
    return _EPOCH + timedelta(microseconds=path.stat().st_mtime_ns // 1000)


def list_files(root: Path, url: str) -> list[StagedFile]:
    """Every file whose key starts with the URL's prefix, in key order (S3 lists keys in UTF-8 binary order)."""
    location = S3Location.parse(url)
    bucket_folder = root / location.bucket
    start = location.folder(root)
    if not start.is_dir():
        return []
    found: list[StagedFile] = []
    for directory, _, names in os.walk(start):
        for name in names:
            path = Path(directory, name)
            key = path.relative_to(bucket_folder).as_posix()
            if key.startswith(location.prefix):
                stat = path.stat()
                found.append(
                    StagedFile(
                        key=key,
                        relative_path=key[len(location.prefix) :],
                        size=stat.st_size,
                        last_modified=_modified(path),
                        path=path,
                    )
                )
    found.sort(key=lambda staged: staged.key.encode())
    return found


def put_file(root: Path, bucket: str, key: str, source: Path) -> StagedFile:
    """Copy ``source`` to ``s3://bucket/key`` atomically, replacing any object at that key (as S3 PUT does).

    The copy gets a new modification time (S3's LastModified is the upload time), never the source's.
    """
    S3Location.parse(f"s3://{bucket}/{key}")
    if not key or key.endswith("/"):
        raise BucketError(f"key {key!r} names a folder, not an object")
    target = root / bucket / key
    incoming = root / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    temporary = incoming / uuid.uuid4().hex
    try:
        shutil.copyfile(source, temporary)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    stat = target.stat()
    return StagedFile(key=key, relative_path=key, size=stat.st_size, last_modified=_modified(target), path=target)
