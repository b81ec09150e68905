"""Where each file goes: pure planning from file names and the resolved pipelines, no I/O.

All routing is decided before any transfer, so one bad file name stops the whole run with nothing uploaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Type-only: the spec modules (pydantic, Jinja) load when a command runs, not when the CLI starts.
    from retail_etl.spec.resolve import ResolvedPipeline

# Date partitions are the upload date in UTC (not the file's own dates): the same run always lands in one folder
# whatever the uploader's time zone.
PARTITION_FORMAT = "%Y/%m/%d/"


@dataclass(frozen=True)
class Route:
    """One file and the object it becomes."""

    source: Path
    pipeline: str
    bucket: str
    key: str
    gzip: bool

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class RoutingError(ValueError):
    """Files that cannot be routed; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def pipeline_name(pipeline: ResolvedPipeline) -> str:
    """The name the spec file gives (``pipeline: customer``); entities are stored upper-cased."""
    return pipeline.entity.lower()


def gzips_on_the_fly(pipeline: ResolvedPipeline, file_name: str) -> bool:
    """COMPRESSION = GZIP means the pipe reads gzip: plain files are compressed while uploading, ``.gz`` files
    are already compressed. Other compressions are uploaded as they are (the file is expected to be in that
    format already)."""
    return pipeline.file_format.compression == "GZIP" and not file_name.lower().endswith(".gz")


def object_key(pipeline: ResolvedPipeline, file_name: str, day: date) -> str:
    partition = day.strftime(PARTITION_FORMAT) if pipeline.partition_by_date else ""
    suffix = ".gz" if gzips_on_the_fly(pipeline, file_name) else ""
    return f"{pipeline.prefix}{partition}{file_name}{suffix}"


def describe_patterns(pipelines: Sequence[ResolvedPipeline]) -> str:
    return "; ".join(f"{pipeline_name(p)}: {', '.join(p.patterns)}" for p in pipelines)


def route_files(
    files: Sequence[Path], pipelines: Sequence[ResolvedPipeline], *, day: date, pipeline: str | None = None
) -> list[Route]:
    """Route every file by ``pipeline`` if given, else by the pipelines' file-name patterns (case-sensitive
    globs on the base name, so routing does not depend on the platform). Raises :class:`RoutingError` with
    every problem: unknown pipeline, a file matching no pipeline or several, two files for one key."""
    if pipeline is not None:
        chosen = [p for p in pipelines if pipeline_name(p) == pipeline.lower()]
        if not chosen:
            known = ", ".join(sorted(pipeline_name(p) for p in pipelines)) or "none"
            raise RoutingError([f"unknown pipeline {pipeline!r} (pipelines: {known})"])
    problems: list[str] = []
    routes: list[Route] = []
    owner: dict[tuple[str, str], Path] = {}
    for path in files:
        name = path.name
        if pipeline is not None:
            matches = chosen
        else:
            matches = [p for p in pipelines if any(fnmatchcase(name, pattern) for pattern in p.patterns)]
        if not matches:
            problems.append(
                f"{path}: matches no pipeline's file patterns ({describe_patterns(pipelines)});"
                " rename it or choose one with --pipeline"
            )
            continue
        if len(matches) > 1:
            problems.append(
                f"{path}: matches the patterns of several pipelines ({describe_patterns(matches)});"
                " choose one with --pipeline"
            )
            continue
        target = matches[0]
        route = Route(
            source=path,
            pipeline=pipeline_name(target),
            bucket=target.bucket,
            key=object_key(target, name, day),
            gzip=gzips_on_the_fly(target, name),
        )
        first = owner.setdefault((route.bucket, route.key), path)
        if first != path:
            problems.append(f"{first} and {path} would both be uploaded to {route.url}; rename one of them")
            continue
        routes.append(route)
    if problems:
        raise RoutingError(problems)
    return routes
