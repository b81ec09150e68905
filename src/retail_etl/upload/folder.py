"""The local target's bucket: ``<project>/<target path>/bucket/<bucket>/<key>``, with the S3 rules.

Identity is the content itself (a stored ``.gz`` is hashed decompressed), so the folder needs no metadata files.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from retail_etl.local.bucket import INCOMING, buckets_root
from retail_etl.upload.results import Delivery, Existing, Outcome, overwrite_note, settle
from retail_etl.upload.routing import Route
from retail_etl.upload.streams import BLOCK, GzipReader, Readable, SourceReader, sha256_file, sha256_gunzipped


def bucket_root(project_dir: Path, target_path: str) -> Path:
    return buckets_root(project_dir / target_path)


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, route: Route) -> Path:
        return self.root / route.bucket / route.key

    def location(self, route: Route) -> str:
        return str(self.path(route))

    def close(self) -> None:
        """Nothing is held open between files."""

    def send(self, route: Route, *, force: bool, progress: Callable[[int], None]) -> Delivery:
        sha256 = sha256_file(route.source)
        target = self.path(route)
        existing = self._existing(route)
        settled = settle(existing, sha256, force=force, route=route)
        if settled is not None:
            return settled
        staging = self.root / INCOMING
        staging.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=staging)
        try:
            with os.fdopen(handle, "wb") as out, route.source.open("rb") as raw:
                source: Readable = SourceReader(raw, route.source, sha256, progress)
                body = GzipReader(source) if route.gzip else source
                while chunk := body.read(BLOCK):
                    out.write(chunk)
                size = out.tell()
            if existing is None:
                try:
                    # A hard link never replaces an existing file: the folder's conditional write.
                    os.link(temporary, target)
                except FileExistsError:
                    return self._already_there(route, sha256)
            else:
                os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return Delivery(Outcome.UPLOADED, sha256, size, overwrite_note(existing))

    def _existing(self, route: Route) -> Existing | None:
        path = self.path(route)
        if not path.exists():
            return None
        return Existing(sha256_gunzipped(path) if route.gzip else sha256_file(path))

    def _already_there(self, route: Route, sha256: str) -> Delivery:
        settled = settle(self._existing(route), sha256, force=False, route=route)
        if settled is None:
            raise OSError(f"{self.location(route)} was written and removed while uploading: run again")
        return settled
