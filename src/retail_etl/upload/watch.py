"""``--watch DIR``: poll a folder and hand over each file once it has stopped changing.

Polling rather than OS file events: it works the same on every platform and on network shares, and the only
question that matters, "has the writer finished?", is answered by time anyway. A file is ready once its size and
modification time have not changed for ``settle`` seconds. Files already in the folder at start are handed over
too (after the same wait): uploads are idempotent, so a restarted watcher catches up on what it missed and
skips what it already sent.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

# Back-off of a file whose upload failed: doubled per failure, up to this.
MAX_RETRY_DELAY = 300.0


@dataclass
class _Seen:
    signature: tuple[int, int]
    since: float
    handled: tuple[int, int] | None = None
    failures: int = 0
    retry_at: float = 0.0


def _scan(directory: Path) -> dict[Path, tuple[int, int]]:
    """Regular files, not in subfolders; dot-files are skipped so writers can write under a hidden name and
    rename when done."""
    found = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            try:
                status = entry.stat()
            except FileNotFoundError:
                continue
            found[Path(entry.path)] = (status.st_size, status.st_mtime_ns)
    return found


def watch(
    directory: Path,
    handle: Callable[[list[Path]], Collection[Path]],
    *,
    interval: float = 1.0,
    settle: float = 5.0,
    stop: threading.Event | None = None,
    max_polls: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll ``directory`` every ``interval`` seconds until ``stop`` is set (or ``max_polls`` polls). ``handle``
    gets the files that are ready, in name order, and returns those that failed: they are retried with back-off.
    A handled file is handed over again only if it changes (changed content is then refused by the upload
    unless --force)."""
    stop = stop or threading.Event()
    seen: dict[Path, _Seen] = {}
    polls = 0
    while not stop.is_set():
        now = clock()
        current = _scan(directory)
        for path in seen.keys() - current.keys():
            del seen[path]
        for path, signature in current.items():
            entry = seen.get(path)
            if entry is None:
                seen[path] = _Seen(signature, now)
            elif entry.signature != signature:
                entry.signature, entry.since, entry.failures, entry.retry_at = signature, now, 0, 0.0
        ready = sorted(
            path
            for path, entry in seen.items()
            if entry.handled != entry.signature and now - entry.since >= settle and now >= entry.retry_at
        )
        if ready:
            failed = handle(ready)
            for path in ready:
                entry = seen[path]
                if path in failed:
                    entry.failures += 1
                    entry.retry_at = now + min(MAX_RETRY_DELAY, interval * 2**entry.failures)
                else:
                    entry.handled = entry.signature
        polls += 1
        if max_polls is not None and polls >= max_polls:
            return
        stop.wait(interval)
