"""``retail-etl upload``: routing, S3 transfers against moto in server mode (through a fault-injecting proxy where
it matters), the local target's bucket folder, --watch."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
import typer
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from conftest import copy_customer_pipelines

# The fixtures are used by name (pytest), not referenced.
from moto_server import FaultProxy, aws_credentials, moto_endpoint, moto_server_url  # noqa: F401
from retail_etl.console import Printer
from retail_etl.spec.resolve import ResolvedPipeline
from retail_etl.targets.session import SessionError
from retail_etl.upload import folder as folder_module
from retail_etl.upload import s3 as s3_module
from retail_etl.upload.command import register
from retail_etl.upload.engine import upload_all
from retail_etl.upload.feedback import BarReporter, LineReporter
from retail_etl.upload.folder import FolderStore
from retail_etl.upload.results import SHA256_METADATA, Existing, Outcome, UploadedFile, settle, suggest_name
from retail_etl.upload.routing import Route, RoutingError, route_files
from retail_etl.upload.s3 import S3Store, s3_client
from retail_etl.upload.streams import GzipReader, HashingBody
from retail_etl.upload.watch import watch
from retail_etl.workflow import Project, load

REPO = Path(__file__).resolve().parents[1]
MIB = 1 << 20
DAY = date(2026, 11, 26)


# --- project, bucket, CLI -------------------------------------------------------------------------------------


def make_project(root: Path, endpoint: str = "http://127.0.0.1:9") -> Path:
    """The shipped project plus a ``sales`` pipeline (date-partitioned, gzip) and a ``moto`` S3 target."""
    spec_dir = root / "pipelines"
    copy_customer_pipelines(spec_dir)
    customer = (spec_dir / "customer.yml").read_text(encoding="utf-8")
    sales = re.sub(r"^pipeline: customer$", "pipeline: sales", customer, flags=re.MULTILINE)
    sales = sales.replace("  prefix: raw_data/customer/\n", "  prefix: raw_data/sales/\n  partition_by_date: true\n")
    sales = sales.replace('["customer*.csv", "customers*.csv"]', '["sales_*.csv", "*_export.csv"]')
    sales = sales.replace("  name: MY_CSV_FORMAT\n", "  compression: GZIP\n")
    sales = sales.replace("  name: CUSTOMER\n", "").replace("  name: CUSTOMER_VIEW\n", "")
    sales = sales.replace("SOURCE_SYS_NAME: CUSTOMER", "SOURCE_SYS_NAME: SALES")
    (spec_dir / "sales.yml").write_text(sales, encoding="utf-8")
    project_file = spec_dir / "project.yml"
    target = f"\ntargets:\n  moto:\n    type: snowflake\n    aws_region: us-east-1\n    aws_endpoint_url: {endpoint}\n"
    project_file.write_text(project_file.read_text(encoding="utf-8").replace("\ntargets:\n", target, 1))
    return root


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"retail-etl-test-{uuid4().hex[:12]}"
    monkeypatch.setenv("RETAIL_ETL_BUCKET", name)
    return name


@pytest.fixture
def s3(moto_endpoint: str, bucket: str) -> Any:  # noqa: F811 (pytest fixture)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    return client


@pytest.fixture
def project(tmp_path: Path, moto_endpoint: str, s3: Any) -> Path:  # noqa: F811 (pytest fixture)
    return make_project(tmp_path / "project", moto_endpoint)


def cli(
    project: Path,
    *args: str,
    code: int | None = 0,
    target: str = "moto",
    local_ingest: Callable[[Project, str, list[UploadedFile]], None] | None = None,
) -> Result:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A fresh app, as cli.py builds it."""

    register(app, local_ingest=local_ingest)
    result = CliRunner().invoke(app, ["upload", *args, "-C", str(project), "-t", target])
    assert "Traceback" not in result.output
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def csv_rows(count: int, seed: str = "") -> bytes:
    return b"".join(
        f"Acme{seed},555-{n:04d},{n} Main St,,Springfield,IL,62701,US,,Ann,Lee{n}\n".encode() for n in range(count)
    )


def keys(s3: Any, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def body(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite_sha256(data: bytes, part_size: int) -> str:
    parts = [hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{b64_sha256(b''.join(parts))}-{len(parts)}"


def utc_partition() -> str:
    return datetime.now(UTC).strftime("%Y/%m/%d")


# --- routing (pure) ---------------------------------------------------------------------------------------------


@pytest.fixture
def pipelines(tmp_path: Path, bucket: str) -> list[ResolvedPipeline]:
    return load(make_project(tmp_path / "specs"), None).desired.pipelines


def test_files_are_routed_by_pattern_with_date_partitions_and_gzip(
    pipelines: list[ResolvedPipeline], bucket: str
) -> None:
    routes = route_files([Path("in/customer_1.csv"), Path("in/sales_7.csv")], pipelines, day=DAY)
    assert [(r.pipeline, r.bucket, r.key, r.gzip) for r in routes] == [
        ("customer", bucket, "raw_data/customer/customer_1.csv", False),
        ("sales", bucket, "raw_data/sales/2026/11/26/sales_7.csv.gz", True),
    ]
    assert routes[1].url == f"s3://{bucket}/raw_data/sales/2026/11/26/sales_7.csv.gz"
    # An already compressed file is not compressed twice.
    (route,) = route_files([Path("sales_7.csv.gz")], pipelines, day=DAY, pipeline="sales")
    assert (route.key, route.gzip) == ("raw_data/sales/2026/11/26/sales_7.csv.gz", False)


def test_pipeline_option_overrides_patterns(pipelines: list[ResolvedPipeline]) -> None:
    routes = route_files([Path("store_42.txt"), Path("sales_1.csv")], pipelines, day=DAY, pipeline="CUSTOMER")
    assert [r.key for r in routes] == ["raw_data/customer/store_42.txt", "raw_data/customer/sales_1.csv"]


def test_unroutable_files_are_all_reported_with_the_patterns(pipelines: list[ResolvedPipeline]) -> None:
    with pytest.raises(RoutingError) as caught:
        route_files(
            [Path("customer_1.csv"), Path("notes.txt"), Path("customer_export.csv"), Path("x/customer_1.csv")],
            pipelines,
            day=DAY,
        )
    assert caught.value.problems == [
        "notes.txt: matches no pipeline's file patterns (customer: customer*.csv, customers*.csv;"
        " sales: sales_*.csv, *_export.csv); rename it or choose one with --pipeline",
        "customer_export.csv: matches the patterns of several pipelines (customer: customer*.csv,"
        " customers*.csv; sales: sales_*.csv, *_export.csv); choose one with --pipeline",
        "customer_1.csv and x/customer_1.csv would both be uploaded to"
        f" s3://{pipelines[0].bucket}/raw_data/customer/customer_1.csv; rename one of them",
    ]
    with pytest.raises(RoutingError, match=r"unknown pipeline 'orders' \(pipelines: customer, sales\)"):
        route_files([Path("customer_1.csv")], pipelines, day=DAY, pipeline="orders")
    # Globs are case-sensitive everywhere, so routing is the same on every platform.
    with pytest.raises(RoutingError):
        route_files([Path("Customer_1.CSV")], pipelines, day=DAY)


def test_identity_decides_skip_refuse_or_send() -> None:
    route = Route(Path("customer_1.csv"), "customer", "b-bucket", "raw_data/customer/customer_1.csv", gzip=False)
    assert settle(None, "a" * 64, force=False, route=route) is None
    skipped = settle(Existing("a" * 64), "a" * 64, force=True, route=route)
    assert skipped is not None and skipped.outcome is Outcome.SKIPPED
    refused = settle(Existing("b" * 64), "a" * 64, force=False, route=route)
    assert refused is not None and refused.outcome is Outcome.REFUSED
    assert "customer_1-aaaaaaaa.csv" in refused.detail and "--force" in refused.detail
    assert settle(Existing("b" * 64), "a" * 64, force=True, route=route) is None
    unknown = settle(Existing(None), "a" * 64, force=False, route=route)
    assert unknown is not None and "without a retail-etl checksum" in unknown.detail
    assert suggest_name("customer_2024.csv", "0123456789") == "customer_2024-01234567.csv"


# --- streams ----------------------------------------------------------------------------------------------------


class _Chunks:
    """A source that returns short reads, as pipes and sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def read(self, size: int = -1, /) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def test_body_fills_every_read_and_hashes_whole_and_per_part() -> None:
    data = os.urandom(25_000)
    stream = HashingBody(_Chunks(data, 777), part_size=10_000)
    parts = [stream.read(10_000) for _ in range(3)]
    assert [len(p) for p in parts] == [10_000, 10_000, 5_000]
    assert stream.read(10_000) == b""
    assert stream.size == len(data)
    assert stream.checksum(composite=False) == (b64_sha256(data), 1)
    assert f"{stream.checksum(composite=True)[0]}-3" == composite_sha256(data, 10_000)


def test_gzip_reader_streams_exact_sizes_deterministically() -> None:
    data = csv_rows(50_000)
    reader = GzipReader(_Chunks(data, 4096))
    pieces = []
    while piece := reader.read(1000):
        pieces.append(piece)
    assert all(len(p) == 1000 for p in pieces[:-1])
    compressed = b"".join(pieces)
    assert gzip.decompress(compressed) == data
    assert GzipReader(_Chunks(data, 65536)).read() == compressed


# --- S3 ---------------------------------------------------------------------------------------------------------


def test_upload_routes_checksums_and_records_identity(project: Path, s3: Any, bucket: str, tmp_path: Path) -> None:
    data = csv_rows(100)
    source = write(tmp_path / "data" / "customer_1.csv", data)
    result = cli(project, str(source))
    assert f"uploaded  {source} -> s3://{bucket}/raw_data/customer/customer_1.csv" in result.stdout
    assert re.search(r"uploaded\s+1\s", result.stdout)
    assert keys(s3, bucket) == ["raw_data/customer/customer_1.csv"]
    head = s3.head_object(Bucket=bucket, Key="raw_data/customer/customer_1.csv", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == b64_sha256(data)
    assert head["Metadata"] == {SHA256_METADATA: hashlib.sha256(data).hexdigest()}
    assert body(s3, bucket, "raw_data/customer/customer_1.csv") == data


def test_date_partition_and_gzip_on_the_fly(project: Path, s3: Any, bucket: str, tmp_path: Path) -> None:
    data = csv_rows(5000)
    before = utc_partition()
    cli(project, str(write(tmp_path / "sales_1.csv", data)))
    after = utc_partition()
    (key,) = keys(s3, bucket)
    assert key in {f"raw_data/sales/{day}/sales_1.csv.gz" for day in (before, after)}
    stored = body(s3, bucket, key)
    assert len(stored) < len(data) / 3
    assert gzip.decompress(stored) == data
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    # The checksum is of the bytes stored; the identity is of the source file.
    assert head["ChecksumSHA256"] == b64_sha256(stored)
    assert head["Metadata"][SHA256_METADATA] == hashlib.sha256(data).hexdigest()
    again = cli(project, str(tmp_path / "sales_1.csv"))
    assert "skipped" in again.stdout


def test_many_files_upload_in_parallel(moto_endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:  # noqa: F811
    files = [write(tmp_path / "in" / f"customer_{n:03d}.csv", csv_rows(20, seed=str(n))) for n in range(32)]
    with FaultProxy(moto_endpoint, delay=0.05) as proxy:
        project = make_project(tmp_path / "project", proxy.url)
        result = cli(project, "--concurrency", "8", *map(str, files))
    assert re.search(r"uploaded\s+32\s", result.stdout)
    assert sorted(keys(s3, bucket)) == [f"raw_data/customer/{f.name}" for f in files]
    assert all(body(s3, bucket, f"raw_data/customer/{f.name}") == f.read_bytes() for f in files)
    # A HEAD and a conditional PUT per new small file, several files at once.
    assert proxy.count("HEAD") == 32 and proxy.count("PUT") == 32
    assert proxy.max_in_flight > 1


def test_large_file_is_a_verified_multipart_upload_and_never_sent_twice(
    moto_endpoint: str,  # noqa: F811
    s3: Any,
    bucket: str,
    tmp_path: Path,
) -> None:
    data = os.urandom(20 * MIB)
    source = write(tmp_path / "customers_big.csv", data)
    with FaultProxy(moto_endpoint) as proxy:
        project = make_project(tmp_path / "project", proxy.url)
        cli(project, str(source))
        # Three parts of 8 MiB; S3's composite checksum matches the parts we hashed.
        assert proxy.count("PUT", "partNumber=") == 3
        key = "raw_data/customer/customers_big.csv"
        head = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ETag"].endswith('-3"')
        assert head["ChecksumSHA256"] == composite_sha256(data, 8 * MIB)
        assert body(s3, bucket, key) == data
        sent = len(proxy.requests)
        again = cli(project, str(source))
        assert "skipped" in again.stdout
        # A HEAD, then nothing: identical content is not sent again.
        assert [method for method, _, _ in proxy.requests[sent:]] == ["HEAD"]
        write(source, os.urandom(20 * MIB))
        changed = cli(project, str(source), code=1)
        assert "refused" in changed.stdout and [m for m, _, _ in proxy.requests[sent + 1 :]] == ["HEAD"]
    assert body(s3, bucket, key) == data


def test_large_gzip_multipart_with_small_parts(moto_endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:  # noqa: F811
    data = os.urandom(12 * MIB)  # incompressible: the gzip stream stays above the multipart threshold
    source = write(tmp_path / "sales_big.csv", data)
    route = Route(source, "sales", bucket, "raw_data/sales/sales_big.csv.gz", gzip=True)
    store = S3Store(
        s3_client(region="us-east-1", endpoint_url=moto_endpoint, concurrency=4),
        concurrency=4,
        multipart_threshold=5 * MIB,
        part_size=5 * MIB,
    )
    try:
        batch = upload_all([route], store, concurrency=4, force=False, reporter=LineReporter(Printer()))
    finally:
        store.close()
    (result,) = batch.results
    assert result.outcome is Outcome.UPLOADED, result.detail
    head = s3.get_object(Bucket=bucket, Key=route.key, ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"')
    stored = body(s3, bucket, route.key)
    assert head["ChecksumSHA256"] == composite_sha256(stored, 5 * MIB)
    assert gzip.decompress(stored) == data
    assert result.uploaded is not None and result.uploaded.size == len(stored)


def test_changed_content_is_refused_unless_forced(project: Path, s3: Any, bucket: str, tmp_path: Path) -> None:
    source = write(tmp_path / "customer_1.csv", csv_rows(10))
    cli(project, str(source))
    assert "skipped" in cli(project, str(source)).stdout
    changed = csv_rows(11)
    write(source, changed)
    refused = cli(project, str(source), code=1)
    assert "refused" in refused.stdout
    assert "never loads a path again" in refused.stdout
    assert f"customer_1-{hashlib.sha256(changed).hexdigest()[:8]}.csv" in refused.stdout
    assert body(s3, bucket, "raw_data/customer/customer_1.csv") == csv_rows(10)
    forced = cli(project, "--force", str(source))
    assert "overwrote different content (sha256" in forced.stdout and "(--force)" in forced.stdout
    assert body(s3, bucket, "raw_data/customer/customer_1.csv") == changed
    assert "skipped" in cli(project, "--force", str(source)).stdout


@pytest.mark.parametrize("size", [50_000, 20 * MIB], ids=["put", "multipart"])
def test_a_key_written_meanwhile_is_never_replaced(
    moto_endpoint: str,  # noqa: F811
    s3: Any,
    bucket: str,
    tmp_path: Path,
    size: int,
) -> None:
    """Another uploader writes the key between our HEAD and our write: the conditional write refuses it."""
    key = "raw_data/customer/customer_1.csv"
    theirs, ours = os.urandom(size), os.urandom(size)
    source = write(tmp_path / "customer_1.csv", ours)
    s3.put_object(Bucket=bucket, Key=key, Body=theirs, Metadata={SHA256_METADATA: hashlib.sha256(theirs).hexdigest()})
    # The proxy answers our first HEAD "not found", as if we had looked just before the other write.
    with FaultProxy(moto_endpoint, faults=[(404, "NoSuchKey")], only="HEAD") as proxy:
        result = cli(make_project(tmp_path / "project", proxy.url), str(source), code=1)
    assert "refused" in result.stdout
    assert body(s3, bucket, key) == theirs
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    write(source, theirs)
    with FaultProxy(moto_endpoint, faults=[(404, "NoSuchKey")], only="HEAD") as proxy:
        assert "skipped" in cli(make_project(tmp_path / "again", proxy.url), str(source)).stdout


@pytest.mark.parametrize("size", [50_000, 20 * MIB], ids=["put", "multipart"])
def test_throttling_and_server_errors_are_retried(
    moto_endpoint: str,  # noqa: F811
    s3: Any,
    bucket: str,
    tmp_path: Path,
    size: int,
) -> None:
    data = os.urandom(size)
    source = write(tmp_path / "customer_1.csv", data)
    with FaultProxy(moto_endpoint, faults=[(503, "SlowDown"), (500, "InternalError")], only="PUT") as proxy:
        cli(make_project(tmp_path / "project", proxy.url), str(source))
    assert proxy.injected == 2
    statuses = [status for method, _, status in proxy.requests if method == "PUT"]
    assert statuses[:2] == [503, 500] and set(statuses[2:]) == {200}
    assert body(s3, bucket, "raw_data/customer/customer_1.csv") == data


def test_a_failed_file_does_not_stop_the_others(moto_endpoint: str, s3: Any, bucket: str, tmp_path: Path) -> None:  # noqa: F811
    files = [write(tmp_path / f"customer_{name}.csv", csv_rows(5, name)) for name in ("a", "denied", "c")]
    with FaultProxy(moto_endpoint, deny="customer_denied") as proxy:
        result = cli(make_project(tmp_path / "project", proxy.url), *map(str, files), code=1)
    assert "An error occurred (403) when calling the HeadObject operation: Forbidden" in result.stdout
    assert re.search(r"uploaded\s+2\s", result.stdout) and re.search(r"failed\s+1\s", result.stdout)
    assert sorted(keys(s3, bucket)) == ["raw_data/customer/customer_a.csv", "raw_data/customer/customer_c.csv"]


@pytest.mark.parametrize("size", [1024, 20 * MIB], ids=["one PUT", "multipart"])
def test_a_checksum_mismatch_fails_the_file_and_leaves_no_object(
    moto_endpoint: str,  # noqa: F811
    s3: Any,
    bucket: str,
    tmp_path: Path,
    size: int,
) -> None:
    # A stored object whose checksum does not match what was sent is deleted: left in place with its source-sha256
    # metadata, the next run would skip it as identical.
    source = write(tmp_path / "customer_1.csv", os.urandom(size))
    with FaultProxy(moto_endpoint, corrupt_checksums=True) as proxy:
        result = cli(make_project(tmp_path / "project", proxy.url), str(source), code=1)
    assert "S3 reports SHA-256" in result.stdout and "the object was deleted" in result.stdout
    assert keys(s3, bucket) == []
    again = cli(make_project(tmp_path / "direct", moto_endpoint), str(source))
    assert re.search(r"uploaded\s+1\s", again.stdout)
    assert body(s3, bucket, "raw_data/customer/customer_1.csv") == source.read_bytes()


def test_a_file_changing_while_it_is_sent_is_not_stored(
    project: Path, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "customers_big.csv", os.urandom(20 * MIB))
    # As if the file had grown between hashing and streaming.
    monkeypatch.setattr(s3_module, "sha256_file", lambda path: "0" * 64)
    result = cli(project, str(source), code=1)
    assert "changed while it was being uploaded" in result.stdout
    assert keys(s3, bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_routing_errors_upload_nothing(project: Path, s3: Any, bucket: str, tmp_path: Path) -> None:
    good = write(tmp_path / "customer_1.csv", b"a\n")
    bad = write(tmp_path / "notes.txt", b"b\n")
    result = cli(project, str(good), str(bad), code=2)
    assert "notes.txt: matches no pipeline's file patterns (customer: customer*.csv" in result.stderr
    assert "nothing was uploaded" in result.stderr
    cli(project, str(good), "--pipeline", "orders", code=2)
    assert keys(s3, bucket) == []


def test_dry_run_shows_routes_and_needs_no_credentials(
    project: Path, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    files = [write(tmp_path / "customer_1.csv", b"a\n"), write(tmp_path / "sales_1.csv", b"b\n")]
    result = cli(project, "--dry-run", *map(str, files))
    assert f"customer  {files[0]} -> s3://{bucket}/raw_data/customer/customer_1.csv" in result.stdout
    assert "/sales_1.csv.gz (gzip)" in result.stdout
    assert "2 file(s) routed; nothing was uploaded (--dry-run)." in result.stdout
    assert keys(s3, bucket) == []


def test_bad_input_exits_2(project: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "customer_1.csv", b"a\n")
    assert "give FILES, or --watch DIR" in cli(project, code=2).stderr
    cli(project, str(tmp_path / "missing.csv"), code=2)
    cli(project, str(tmp_path), code=2)
    cli(project, "--concurrency", "0", str(source), code=2)
    assert "unknown target 'nowhere'" in cli(project, str(source), target="nowhere", code=2).stderr


def test_missing_credentials_fail_before_any_transfer(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    result = cli(project, str(write(tmp_path / "customer_1.csv", b"a\n")), code=1)
    assert "cannot reach S3 for target 'moto': no AWS credentials found" in result.stderr


def test_target_endpoint_wins_over_aws_endpoint_url(
    project: Path, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert s3_client(region="us-east-1", endpoint_url=None, concurrency=1).meta.endpoint_url == "http://127.0.0.1:9"
    cli(project, str(write(tmp_path / "customer_1.csv", b"a\n")))
    assert keys(s3, bucket) == ["raw_data/customer/customer_1.csv"]


# --- watch ------------------------------------------------------------------------------------------------------


def test_watcher_hands_over_a_file_once_it_stops_growing(tmp_path: Path) -> None:
    handed: list[tuple[str, int]] = []
    stop = threading.Event()

    def handle(paths: list[Path]) -> set[Path]:
        handed.extend((path.name, path.stat().st_size) for path in paths)
        return set()

    watcher = threading.Thread(
        target=watch, args=(tmp_path, handle), kwargs={"interval": 0.02, "settle": 0.5, "stop": stop}
    )
    watcher.start()
    try:
        write(tmp_path / ".customer_tmp.csv", b"hidden files are ignored\n")
        with (tmp_path / "customer_live.csv").open("wb") as growing:
            for _ in range(8):
                growing.write(b"x" * 1000)
                growing.flush()
                time.sleep(0.1)
        assert handed == []
        deadline = time.monotonic() + 10
        while not handed and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
        watcher.join()
    assert handed == [("customer_live.csv", 8000)]


def test_watcher_retries_failed_files_and_stops_after_max_polls(tmp_path: Path) -> None:
    write(tmp_path / "customer_1.csv", b"a\n")
    calls: list[list[str]] = []

    def handle(paths: list[Path]) -> set[Path]:
        calls.append([path.name for path in paths])
        return set(paths) if len(calls) == 1 else set()

    watch(tmp_path, handle, interval=0.01, settle=0, max_polls=30)
    assert calls == [["customer_1.csv"], ["customer_1.csv"]]


def test_watch_uploads_new_files_until_ctrl_c(project: Path, s3: Any, bucket: str, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    data = csv_rows(3000)

    def store_system() -> None:
        with (incoming / "customer_live.csv").open("wb") as out:
            for start in range(0, len(data), len(data) // 4):
                out.write(data[start : start + len(data) // 4])
                out.flush()
                time.sleep(0.1)
        deadline = time.monotonic() + 20
        while "raw_data/customer/customer_live.csv" not in keys(s3, bucket) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    feeder = threading.Thread(target=store_system)
    feeder.start()
    result = cli(project, "--watch", str(incoming), "--settle", "0.5")
    feeder.join()
    assert "Stopped." in result.stdout and re.search(r"uploaded\s+1\s", result.stdout)
    assert body(s3, bucket, "raw_data/customer/customer_live.csv") == data


def test_progress_bars_on_a_terminal(tmp_path: Path) -> None:
    printer = Printer()
    screen = io.StringIO()
    printer.out = Console(file=screen, force_terminal=True, width=120)
    files = [write(tmp_path / "in" / f"customer_{n}.csv", csv_rows(2000, str(n))) for n in range(3)]
    routes = [Route(f, "customer", "bar-bucket", f"raw_data/customer/{f.name}", gzip=False) for f in files]
    with BarReporter(printer) as bars:
        batch = upload_all(routes, FolderStore(tmp_path / "bucket"), concurrency=2, force=False, reporter=bars)
    assert [r.outcome for r in batch.results] == [Outcome.UPLOADED] * 3
    output = screen.getvalue()
    assert "total" in output and output.count("uploaded  ") == 3


# --- local target -----------------------------------------------------------------------------------------------


def test_local_target_writes_the_bucket_folder_and_triggers_the_pipes(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project")
    calls: list[tuple[str, list[UploadedFile]]] = []

    def ingest(loaded: Project, target: str, files: list[UploadedFile]) -> None:
        assert loaded.loaded.project_dir == project
        calls.append((target, files))

    customer = write(tmp_path / "customer_1.csv", csv_rows(10))
    sales = write(tmp_path / "sales_1.csv", csv_rows(1000))
    cli(project, str(customer), str(sales), target="local", local_ingest=ingest)
    folder = project / ".retail-etl" / "bucket" / bucket
    assert (folder / "raw_data/customer/customer_1.csv").read_bytes() == csv_rows(10)
    (stored,) = (folder / "raw_data/sales").rglob("*.gz")
    assert gzip.decompress(stored.read_bytes()) == csv_rows(1000)
    ((target, files),) = calls
    assert target == "local"
    assert [(f.pipeline, f.bucket, f.key) for f in files] == [
        ("customer", bucket, "raw_data/customer/customer_1.csv"),
        ("sales", bucket, stored.relative_to(folder).as_posix()),
    ]
    assert files[0].sha256 == hashlib.sha256(csv_rows(10)).hexdigest() and files[1].size == stored.stat().st_size

    again = cli(project, str(customer), str(sales), target="local", local_ingest=ingest)
    assert re.search(r"skipped\s+2\s", again.stdout) and len(calls) == 1
    write(customer, csv_rows(12))
    assert "refused" in cli(project, str(customer), target="local", local_ingest=ingest, code=1).stdout
    cli(project, "--force", str(customer), target="local", local_ingest=ingest)
    assert (folder / "raw_data/customer/customer_1.csv").read_bytes() == csv_rows(12) and len(calls) == 2
    assert not any((project / ".retail-etl" / "bucket" / ".incoming").iterdir())

    def broken(loaded: Project, target: str, files: list[UploadedFile]) -> None:
        raise SessionError("COPY failed: Numeric value 'abc' is not recognized")

    failed = cli(project, str(write(tmp_path / "customers_2.csv", b"x\n")), target="local", local_ingest=broken, code=1)
    assert "loading the uploaded files: COPY failed" in failed.stderr

    monkeypatch.setattr(folder_module, "sha256_file", lambda path: "0" * 64)
    growing = cli(project, str(write(tmp_path / "customers_3.csv", b"y\n")), target="local", code=1)
    assert "changed while it was being uploaded" in growing.stdout
    assert not (folder / "raw_data/customer/customers_3.csv").exists()
    assert not any((project / ".retail-etl" / "bucket" / ".incoming").iterdir())
