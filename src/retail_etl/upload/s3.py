"""Upload to S3 (or an S3-compatible endpoint): conditional writes, SHA-256 checksums, multipart, retries.

Imported only by the upload command, so the CLI starts without boto3.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from retail_etl.upload.results import SHA256_METADATA, Delivery, Existing, Outcome, overwrite_note, settle
from retail_etl.upload.routing import Route
from retail_etl.upload.streams import (
    GzipReader,
    HashingBody,
    Readable,
    SourceReader,
    b64_sha256,
    gzip_bytes,
    sha256_file,
)

MIB = 1 << 20
MULTIPART_THRESHOLD = 8 * MIB
PART_SIZE = 8 * MIB
# S3's limit of parts per multipart upload.
MAX_PARTS = 10_000
MAX_ATTEMPTS = 10
# What bounds memory, whatever the file sizes and --concurrency: multipart parts read ahead (six 8 MiB parts in
# flight saturate a typical uplink), and small files held whole while they are sent (their gzip copy included).
PARTS_IN_MEMORY = 6
SMALL_FILES_IN_MEMORY = 32 * MIB


class UploadSetupError(Exception):
    """S3 cannot be reached at all (no credentials, a broken profile); the message is safe to print."""


class UploadError(Exception):
    """One file could not be uploaded or verified."""


def s3_client(*, region: str | None, endpoint_url: str | None, concurrency: int) -> Any:
    """A client from boto3's standard credential chain. An explicit endpoint (the target's ``aws_endpoint_url``)
    wins; without one boto3 reads ``AWS_ENDPOINT_URL`` itself. Adaptive retries back off on throttling and 5xx
    and slow the client down when S3 answers SlowDown."""
    try:
        session = boto3.session.Session(region_name=region)
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise UploadSetupError(str(exc)) from exc
    if credentials is None:
        raise UploadSetupError(
            "no AWS credentials found (environment, shared credentials and config files, SSO, container or"
            " instance role): configure them as for the AWS CLI"
        )
    config = Config(
        retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
        # Our per-file threads and the transfer manager's part threads each hold a connection.
        max_pool_connections=2 * concurrency + 2,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


class _Budget:
    """Bytes held in memory at once, shared by the upload threads."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        with self._changed:
            # Anything fits in an empty budget, so a file larger than the whole budget still goes (alone).
            self._changed.wait_for(lambda: self._used == 0 or self._used + amount <= self._limit)
            self._used += amount
        try:
            yield
        finally:
            with self._changed:
                self._used -= amount
                self._changed.notify_all()


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    """Sends files to S3. Every file is hashed and looked up first (a HEAD): identical content is skipped and
    changed content refused without sending a byte, so re-running over a folder of files already uploaded costs
    one small request per file. The write itself is conditional (If-None-Match: *), so an object that appears
    meanwhile (another uploader) is never replaced. Files under the multipart threshold go in one PUT from
    memory, whose response carries the checksum S3 computed; larger ones are streamed as a multipart upload and
    checked with a HEAD."""

    def __init__(
        self,
        client: Any,
        *,
        concurrency: int,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
    ) -> None:
        self._client = client
        self._threshold = multipart_threshold
        self._part_size = part_size
        config = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=part_size,
            max_concurrency=concurrency,
            # The classic manager cuts parts as HashingBody expects (the CRT one, chosen by "auto" on some
            # instances, does its own); the composite checksum is verified against those parts.
            preferred_transfer_client="classic",
        )
        # A setting of s3transfer's config that boto3's constructor does not take.
        config.max_in_memory_upload_chunks = PARTS_IN_MEMORY
        self._manager = create_transfer_manager(client, config)
        self._small_files = _Budget(SMALL_FILES_IN_MEMORY)
        # Keys the transfer manager must create, never replace: its PutObject or CompleteMultipartUpload gets
        # If-None-Match: *, which it does not pass through itself.
        self._exclusive: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        for operation in ("PutObject", "CompleteMultipartUpload"):
            client.meta.events.register(f"before-parameter-build.s3.{operation}", self._add_condition)

    def location(self, route: Route) -> str:
        return route.url

    def close(self) -> None:
        self._manager.shutdown()

    def send(self, route: Route, *, force: bool, progress: Callable[[int], None]) -> Delivery:
        size = route.source.stat().st_size
        if size >= self._threshold:
            return self._send_large(route, size, force=force, progress=progress)
        # A small file is read once, into memory, and sent in one PUT.
        with self._small_files.hold(2 * size if route.gzip else size):
            data = route.source.read_bytes()
            sha256 = hashlib.sha256(data).hexdigest()
            existing = self._head(route)
            settled = settle(existing, sha256, force=force, route=route)
            if settled is not None:
                return settled
            # Progress counts source bytes read for sending (here all at once); it is also where Ctrl-C stops a
            # file, so it comes before the PUT, never after an object is written.
            progress(size)
            try:
                stored = self._put(route, data, sha256, exclusive=existing is None)
            except ClientError as exc:
                return self._precondition_failed(exc, route, sha256)
        return Delivery(Outcome.UPLOADED, sha256, stored, overwrite_note(existing))

    def _send_large(self, route: Route, size: int, *, force: bool, progress: Callable[[int], None]) -> Delivery:
        sha256 = sha256_file(route.source)
        existing = self._head(route)
        settled = settle(existing, sha256, force=force, route=route)
        if settled is not None:
            return settled
        try:
            stored = self._stream(route, size, sha256, exclusive=existing is None, progress=progress)
        except ClientError as exc:
            return self._precondition_failed(exc, route, sha256)
        return Delivery(Outcome.UPLOADED, sha256, stored, overwrite_note(existing))

    def _put(self, route: Route, data: bytes, sha256: str, *, exclusive: bool) -> int:
        body = gzip_bytes(data) if route.gzip else data
        response = self._client.put_object(
            Bucket=route.bucket,
            Key=route.key,
            Body=body,
            ChecksumAlgorithm="SHA256",
            Metadata={SHA256_METADATA: sha256},
            **({"IfNoneMatch": "*"} if exclusive else {}),
        )
        # S3 checks the body against the checksum header and returns the checksum of what it stored.
        self._verify(route, response.get("ChecksumSHA256"), b64_sha256(body))
        return len(body)

    def _stream(self, route: Route, size: int, sha256: str, *, exclusive: bool, progress: Callable[[int], None]) -> int:
        if size > MAX_PARTS * self._part_size:
            raise UploadError(
                f"{size} bytes do not fit in {MAX_PARTS} parts of {self._part_size} bytes: split the file"
                " (Snowpipe works best with files of 100-250 MB compressed)"
            )
        key = (route.bucket, route.key)
        with route.source.open("rb") as raw:
            source: Readable = SourceReader(raw, route.source, sha256, progress)
            body = HashingBody(GzipReader(source) if route.gzip else source, self._part_size)
            extra = {"ChecksumAlgorithm": "SHA256", "Metadata": {SHA256_METADATA: sha256}}
            if exclusive:
                with self._lock:
                    self._exclusive.add(key)
            try:
                self._manager.upload(body, route.bucket, route.key, extra_args=extra).result()
            finally:
                with self._lock:
                    self._exclusive.discard(key)
        head = self._client.head_object(Bucket=route.bucket, Key=route.key, ChecksumMode="ENABLED")
        # The manager sends a body of at least the threshold as a multipart upload, whose checksum is composite;
        # it may come back followed by "-<parts>".
        expected, parts = body.checksum(composite=body.size >= self._threshold)
        reported = head.get("ChecksumSHA256")
        suffix = f"-{parts}" if reported and "-" in reported else ""
        self._verify(route, reported, expected + suffix)
        if head.get("ContentLength") != body.size or head.get("Metadata", {}).get(SHA256_METADATA) != sha256:
            raise UploadError(f"{route.url} changed while uploading (another uploader?): run again to check it")
        return body.size

    def _precondition_failed(self, error: Any, route: Route, sha256: str) -> Delivery:
        """A conditional write found an object at the key (a concurrent uploader wrote it since the HEAD):
        identical content is a skip, anything else a refusal. Other errors are the file's failure."""
        if _error_code(error) != "PreconditionFailed":
            raise error
        settled = settle(self._head(route), sha256, force=False, route=route)
        if settled is None:
            raise UploadError(f"{route.url} was written and removed while uploading: run again")
        return settled

    def _head(self, route: Route) -> Existing | None:
        try:
            response = self._client.head_object(Bucket=route.bucket, Key=route.key)
        except ClientError as exc:
            # HEAD has no body: a missing key is the bare status code.
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return Existing(response.get("Metadata", {}).get(SHA256_METADATA))

    def _verify(self, route: Route, reported: str | None, expected: str) -> None:
        """The object just written holds what was sent; else it is deleted: left in place, its source-sha256
        metadata would make the next run skip it as identical."""
        if reported == expected:
            return
        try:
            self._client.delete_object(Bucket=route.bucket, Key=route.key)
            fate = "the object was deleted: run again"
        except ClientError as exc:
            fate = f"deleting the object failed too ({_error_code(exc)}): delete it before running again"
        raise UploadError(
            f"{route.url}: S3 reports SHA-256 {reported or '(none)'} but the bytes sent have {expected}; {fate}"
        )

    def _add_condition(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            if (params.get("Bucket"), params.get("Key")) in self._exclusive:
                params["IfNoneMatch"] = "*"
