"""Streaming readers: memory stays constant whatever the file size.

A body is the source file (counted for progress, checked against its hash), optionally gzipped on the fly, and
hashed as it is handed out, whole and per multipart part, so the checksum S3 reports can be checked without
reading the file again.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

BLOCK = 1 << 20
# wbits 31 = a gzip wrapper with mtime 0 and no file name: the same input always gives the same bytes.
_GZIP = (6, zlib.DEFLATED, 31)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_gunzipped(path: Path) -> str:
    """SHA-256 of what a gzip file decompresses to, in constant memory."""
    digest = hashlib.sha256()
    inflate = zlib.decompressobj(31)
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK):
            digest.update(inflate.decompress(chunk))
    digest.update(inflate.flush())
    return digest.hexdigest()


def b64_sha256(data: bytes) -> str:
    """The form S3 uses for ChecksumSHA256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class SourceChangedError(Exception):
    """The file changed between hashing and sending (still being written?)."""


class SourceReader:
    """Reads a source file for sending. Reports every byte read (progress; the callback may raise to interrupt),
    and at the end of the file checks that the bytes read are the ones hashed before: a file still being written
    must not be stored under the identity of an earlier state. Raising there stops the transfer before the object
    is completed."""

    def __init__(self, raw: Readable, path: Path, sha256: str, on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._path = path
        self._sha256 = sha256
        self._digest = hashlib.sha256()
        self._on_read = on_read

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        if data:
            self._digest.update(data)
            self._on_read(len(data))
        elif self._digest.hexdigest() != self._sha256:
            raise SourceChangedError(f"{self._path} changed while it was being uploaded: upload it once complete")
        return data


class GzipReader:
    """Gzip-compresses a stream as it is read; holds at most one read's worth of compressed output."""

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._compress = zlib.compressobj(*_GZIP)
        self._buffer = bytearray()
        self._eof = False

    def read(self, size: int = -1, /) -> bytes:
        while not self._eof and (size < 0 or len(self._buffer) < size):
            chunk = self._raw.read(BLOCK)
            if chunk:
                self._buffer += self._compress.compress(chunk)
            else:
                self._buffer += self._compress.flush()
                self._eof = True
        end = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data


def gzip_bytes(data: bytes) -> bytes:
    return GzipReader(_BytesReader(data)).read()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._view) if size < 0 else size
        data = bytes(self._view[:end])
        self._view = self._view[end:]
        return data


class HashingBody:
    """The body handed to boto3's transfer manager: readable, deliberately not seekable.

    Not seekable, so the manager reads it exactly once, in order, one ``read(part_size)`` per part (a seekable
    file would be read again for checksums and retries, and we would hash it twice). Every read is filled to the
    size asked for: the manager takes a short read for the end of the stream.
    """

    def __init__(self, inner: Readable, part_size: int) -> None:
        self._inner = inner
        self._part_size = part_size
        self._whole = hashlib.sha256()
        self._part = hashlib.sha256()
        self._part_filled = 0
        self._digests: list[bytes] = []
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1, /) -> bytes:
        chunks: list[bytes] = []
        wanted = size
        while size < 0 or wanted > 0:
            data = self._inner.read(wanted if size >= 0 else BLOCK)
            if not data:
                break
            chunks.append(data)
            wanted -= len(data)
        data = b"".join(chunks)
        self._hash(data)
        return data

    def _hash(self, data: bytes) -> None:
        self._whole.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            piece = view[: self._part_size - self._part_filled]
            self._part.update(piece)
            self._part_filled += len(piece)
            view = view[len(piece) :]
            if self._part_filled == self._part_size:
                self._digests.append(self._part.digest())
                self._part = hashlib.sha256()
                self._part_filled = 0

    def checksum(self, *, composite: bool) -> tuple[str, int]:
        """ChecksumSHA256 as S3 computes it, and the number of parts: of the whole body for a single PUT; for a
        multipart upload, of the concatenated part digests."""
        if not composite:
            return base64.b64encode(self._whole.digest()).decode(), 1
        digests = self._digests + ([self._part.digest()] if self._part_filled else [])
        return base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode(), len(digests)
