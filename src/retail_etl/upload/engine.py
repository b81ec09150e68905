"""Runs a batch of routed files through a store: in parallel, each failure kept to its own file, Ctrl-C clean."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from retail_etl.upload.results import Delivery, FileResult, Outcome, UploadedFile
from retail_etl.upload.routing import Route


class Store(Protocol):
    """Where files go: S3 (:class:`retail_etl.upload.s3.S3Store`) or the local target's folder
    (:class:`retail_etl.upload.folder.FolderStore`)."""

    def location(self, route: Route) -> str: ...

    def send(self, route: Route, *, force: bool, progress: Callable[[int], None]) -> Delivery:
        """Skip, refuse or send one file. ``progress`` is called with source bytes as they are read; it raises
        to interrupt the transfer."""
        ...

    def close(self) -> None: ...


class Reporter(Protocol):
    """Feedback; called from the worker threads."""

    def batch(self, total_bytes: int) -> None: ...

    def started(self, route: Route, size: int) -> None: ...

    def advanced(self, route: Route, amount: int) -> None: ...

    def finished(self, result: FileResult, location: str) -> None: ...


class InterruptedUploadError(Exception):
    def __init__(self) -> None:
        super().__init__("interrupted")


@dataclass(frozen=True)
class Batch:
    results: list[FileResult]
    seconds: float
    # Ctrl-C arrived: files in flight were stopped and the rest not started (they are among the failures).
    interrupted: bool = False


def upload_all(routes: Sequence[Route], store: Store, *, concurrency: int, force: bool, reporter: Reporter) -> Batch:
    """Send every route, ``concurrency`` files at a time; results come back in the order of ``routes``."""
    started = time.perf_counter()
    cancelled = threading.Event()

    def advance(route: Route, amount: int) -> None:
        if cancelled.is_set():
            raise InterruptedUploadError
        reporter.advanced(route, amount)

    def one(route: Route) -> FileResult:
        begin = time.perf_counter()
        size = 0
        try:
            size = route.source.stat().st_size
            reporter.started(route, size)
            delivery = store.send(route, force=force, progress=lambda amount: advance(route, amount))
        # Any error belongs to this file alone: the others go on (the outcome says what went wrong).
        except Exception as exc:
            result = FileResult(route, Outcome.FAILED, size, time.perf_counter() - begin, str(exc) or repr(exc))
        else:
            uploaded = None
            if delivery.outcome is Outcome.UPLOADED:
                uploaded = UploadedFile(
                    route.pipeline, route.bucket, route.key, route.source, delivery.stored_size, delivery.sha256
                )
            seconds = time.perf_counter() - begin
            result = FileResult(route, delivery.outcome, size, seconds, delivery.detail, uploaded)
        reporter.finished(result, store.location(route))
        return result

    reporter.batch(sum(_size(route) for route in routes))
    interrupted = False
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="retail-etl-upload") as pool:
        futures = [pool.submit(one, route) for route in routes]
        try:
            wait(futures)
        except KeyboardInterrupt:
            interrupted = True
            cancelled.set()
            for future in futures:
                future.cancel()
            wait([future for future in futures if not future.cancelled()])
    results = [_result(route, future) for route, future in zip(routes, futures, strict=True)]
    return Batch(results, time.perf_counter() - started, interrupted)


def _size(route: Route) -> int:
    try:
        return route.source.stat().st_size
    except OSError:
        # The worker reports it as that file's failure.
        return 0


def _result(route: Route, future: Future[FileResult]) -> FileResult:
    if future.cancelled():
        return FileResult(route, Outcome.FAILED, 0, 0.0, "interrupted before it started")
    return future.result()
