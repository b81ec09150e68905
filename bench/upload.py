"""Benchmarks of issue #4 (upload) against moto in server mode, run as its own process on 127.0.0.1.

Run: ``.venv/bin/python bench/upload.py`` (``--skip-1gb`` for the quick figures only). Prints one line per figure;
BENCHMARKS.md records them with the date and machine.

- 200 files x 1 MB: the original ``local_to_s3.py`` way (a sequential ``Bucket.upload_file`` loop) and the upload
  engine (routing, conditional PUTs with SHA-256 checksums, verification), in the same run against the same
  server; then the engine again on the same files (everything skipped).
- One 1 GiB file through ``retail-etl upload`` in a child process (raw, then gzipped on the fly): wall time and
  the child's peak RSS (``ru_maxrss`` from ``wait4``); the stored object is read back as a stream and compared.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from retail_etl.upload.engine import upload_all
from retail_etl.upload.results import FileResult
from retail_etl.upload.routing import Route, route_files
from retail_etl.upload.s3 import S3Store, s3_client
from retail_etl.workflow import load

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BUCKET = "retail-etl-bench"
MB = 1_000_000
MIB = 1 << 20
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "RETAIL_ETL_BUCKET": BUCKET,
}


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (Linux: /proc/<pid>/stat, fields utime and stime)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def moto_server() -> Iterator[Server]:
    """moto_server in a process of its own, so neither side's work competes for the other's interpreter lock."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait()


def make_project(root: Path, endpoint: str) -> Path:
    """The shipped project with a ``bench`` target on the moto server and a gzip ``sales`` pipeline."""
    spec_dir = root / "pipelines"
    shutil.copytree(REPO / "pipelines", spec_dir)
    customer = (spec_dir / "customer.yml").read_text(encoding="utf-8")
    sales = re.sub(r"^pipeline: customer$", "pipeline: sales", customer, flags=re.MULTILINE)
    sales = sales.replace("raw_data/customer/", "raw_data/sales/").replace(
        "  name: MY_CSV_FORMAT\n", "  compression: GZIP\n"
    )
    sales = sales.replace('["customer*.csv", "customers*.csv"]', '["sales_*.csv"]')
    sales = sales.replace("  name: CUSTOMER\n", "").replace("  name: CUSTOMER_VIEW\n", "")
    (spec_dir / "sales.yml").write_text(sales.replace("SOURCE_SYS_NAME: CUSTOMER", "SOURCE_SYS_NAME: SALES"))
    project_file = spec_dir / "project.yml"
    target = f"\ntargets:\n  bench:\n    type: snowflake\n    aws_region: us-east-1\n    aws_endpoint_url: {endpoint}\n"
    project_file.write_text(project_file.read_text(encoding="utf-8").replace("\ntargets:\n", target, 1))
    return root


class Silent:
    """No per-file output: the figures are the point."""

    def batch(self, total_bytes: int) -> None:
        pass

    def started(self, route: Route, size: int) -> None:
        pass

    def advanced(self, route: Route, amount: int) -> None:
        pass

    def finished(self, result: FileResult, location: str) -> None:
        pass


def csv_block(size: int) -> bytes:
    """Customer-like CSV rows, about ``size`` bytes."""
    rows = []
    total = n = 0
    while total < size:
        row = f"Acme {n % 997},555-{n % 10000:04d},{n} Main St,,Springfield,IL,{60000 + n % 999},US,,Ann,Lee{n}\n"
        rows.append(row.encode())
        total += len(rows[-1])
        n += 1
    return b"".join(rows)[:size]


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stored_sha256(s3: Any, key: str, *, gunzip: bool) -> str:
    """SHA-256 of an object's content, read as a stream (decompressed if asked)."""
    digest = hashlib.sha256()
    inflate = zlib.decompressobj(31)
    for chunk in s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(MIB):
        digest.update(inflate.decompress(chunk) if gunzip else chunk)
    if gunzip:
        digest.update(inflate.flush())
    return digest.hexdigest()


def many_small_files(base: Path, server: Server, s3: Any) -> None:
    data_dir = base / "small"
    data_dir.mkdir()
    files = [data_dir / f"customer_{n:03d}.csv" for n in range(200)]
    block = csv_block(MB)
    for n, path in enumerate(files):
        path.write_bytes(f"{n}\n".encode() + block[: MB - len(f"{n}\n")])

    def report(label: str, seconds: float, busy: float, extra: str = "") -> None:
        # How busy the server was: a server near 100 % is the bottleneck, whatever the client does.
        print(f"200 x 1 MB, {label}: {seconds:.2f} s{extra}; moto server busy {busy:.2f} s ({busy / seconds:.0%})")

    # The original local_to_s3.py, file after file.
    bucket = boto3.resource("s3", endpoint_url=server.url, region_name="us-east-1").Bucket(name=BUCKET)
    busy = server.cpu_seconds()
    start = time.perf_counter()
    for path in files:
        bucket.upload_file(Filename=str(path), Key="raw_data/original/" + path.name)
    sequential = time.perf_counter() - start
    report("sequential upload_file loop (local_to_s3.py)", sequential, server.cpu_seconds() - busy)

    project = load(make_project(base / "project", server.url), None)
    routes = route_files(files, project.desired.pipelines, day=datetime.now(UTC).date())
    for label in ("retail-etl upload engine, --concurrency 8", "same files again"):
        store = S3Store(s3_client(region="us-east-1", endpoint_url=server.url, concurrency=8), concurrency=8)
        busy = server.cpu_seconds()
        batch = upload_all(routes, store, concurrency=8, force=False, reporter=Silent())
        busy = server.cpu_seconds() - busy
        store.close()
        outcomes = ", ".join(sorted({result.outcome.value for result in batch.results}))
        report(label, batch.seconds, busy, f" ({outcomes}, {sequential / batch.seconds:.1f}x the sequential loop)")
    assert len(s3.list_objects_v2(Bucket=BUCKET, Prefix="raw_data/customer/")["Contents"]) == 200


def one_big_file(base: Path, s3: Any, name: str, key: str, *, gunzip: bool) -> None:
    path = base / name
    block = csv_block(MIB)
    with path.open("wb") as out:
        for n in range(1024):
            out.write(f"{n:08d}".encode() + block[8:])
    expected = sha256_file(path)
    project = base / "project"
    command = [sys.executable, __file__, "--child", str(project), str(path)]
    start = time.perf_counter()
    child = subprocess.Popen(command, env={**os.environ, "COLUMNS": "200"}, stdout=subprocess.PIPE)
    output = child.stdout.read().decode() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"retail-etl upload failed:\n{output}")
    # Linux reports ru_maxrss in KiB.
    peak = usage.ru_maxrss * 1024 / MB
    stored = s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    same = stored_sha256(s3, key, gunzip=gunzip) == expected
    what = "gzipped on the fly" if gunzip else "raw"
    print(
        f"1 GiB file, {what}: {seconds:.1f} s, peak RSS of the uploading process {peak:.0f} MB,"
        f" stored {stored / MB:.0f} MB, content {'identical' if same else 'DIFFERENT'}"
    )
    path.unlink()


def child(project: Path, path: Path) -> None:
    """The uploading process of the 1 GiB figures: the upload command, as the CLI runs it."""
    import typer

    from retail_etl.upload.command import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """retail-etl (bench)."""

    register(app)
    app(["upload", str(path), "-C", str(project), "-t", "bench"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-1gb", action="store_true")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    os.environ.update(FAKE_AWS)
    if arguments.child:
        child(*arguments.child)
        return
    with tempfile.TemporaryDirectory() as temporary, moto_server() as server:
        base = Path(temporary)
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        many_small_files(base, server, s3)
        if not arguments.skip_1gb:
            one_big_file(base, s3, "customers_big.csv", "raw_data/customer/customers_big.csv", gunzip=False)
            one_big_file(base, s3, "sales_big.csv", "raw_data/sales/sales_big.csv.gz", gunzip=True)


if __name__ == "__main__":
    main()
