"""What happens to one file: the pure decision (upload, skip, refuse, overwrite) and the records of the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from retail_etl.upload.routing import Route

# Object metadata (``x-amz-meta-source-sha256``): SHA-256 of the source file as it was before any on-the-fly
# gzip. Identity never depends on the stored bytes, so it holds whatever the multipart part size or gzip level.
SHA256_METADATA = "source-sha256"
IDENTICAL = "identical content is already there"


class Outcome(StrEnum):
    UPLOADED = "uploaded"
    SKIPPED = "skipped"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class Existing:
    """An object already at the key; ``sha256`` is None when it carries no retail-etl checksum."""

    sha256: str | None


def suggest_name(file_name: str, sha256: str) -> str:
    """A new name for changed content: the content's own short hash before the extension, so it is unique per
    content and still matches globs such as ``customer*.csv``."""
    path = PurePath(file_name)
    return f"{path.stem}-{sha256[:8]}{path.suffix}"


def _what_is_there(existing: Existing) -> str:
    if existing.sha256 is None:
        return "an object without a retail-etl checksum (uploaded by another tool?), so it may differ"
    return f"different content (sha256 {existing.sha256[:12]}…)"


def refusal(route: Route, existing: Existing, sha256: str) -> str:
    return (
        f"the key already holds {_what_is_there(existing)}. Snowpipe has loaded (or is loading) that path and"
        " never loads a path again, even with new content: upload the file under a new name, e.g."
        f" {suggest_name(route.source.name, sha256)}, or pass --force to overwrite it anyway"
    )


def overwrite_note(existing: Existing | None) -> str:
    """What a sent file replaced: nothing for a new key; a warning after --force."""
    if existing is None:
        return ""
    return (
        f"overwrote {_what_is_there(existing)} (--force); a pipe that already loaded this path will not load it again"
    )


@dataclass(frozen=True)
class Delivery:
    """What a store did with one file."""

    outcome: Outcome
    sha256: str
    stored_size: int = 0
    detail: str = ""


def settle(existing: Existing | None, sha256: str, *, force: bool, route: Route) -> Delivery | None:
    """The outcome when nothing is to be sent: identical content is skipped, changed content refused unless
    forced. None when the file must be sent (a new key, or a forced overwrite)."""
    if existing is None:
        return None
    if existing.sha256 == sha256:
        return Delivery(Outcome.SKIPPED, sha256, detail=IDENTICAL)
    if force:
        return None
    return Delivery(Outcome.REFUSED, sha256, detail=refusal(route, existing, sha256))


@dataclass(frozen=True)
class UploadedFile:
    """A file that is now in the bucket: what a pipe needs to load it."""

    pipeline: str
    bucket: str
    key: str
    source: PurePath
    # Bytes stored (the compressed size when gzipped on the fly).
    size: int
    # Of the source file (see SHA256_METADATA).
    sha256: str


@dataclass(frozen=True)
class FileResult:
    route: Route
    outcome: Outcome
    # Bytes of the source file (0 when it could not be read).
    size: int
    seconds: float
    detail: str = ""
    uploaded: UploadedFile | None = None
