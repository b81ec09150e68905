"""Issue #3's figure: 1,000,000 customer rows through upload -> pipe -> stream -> procedure -> SILVER on the local
target, against the time DuckDB alone takes to read_csv the same data into a table (same run), and peak memory. The
reference is measured twice: into an in-memory table (issue #3's figure) and into a table of a new DuckDB database
file, committed (what the local target does: its tables live in DuckDB files).

Run: ``.venv/bin/python bench/local_pipeline.py [--rows N]``. Each step is a real `retail-etl` command in its own
process (as a user runs them); peak memory is the largest resident set of those processes.

It also measures a *floor*: the least work any implementation on DuckDB database files must do for the same
result, written by hand in DuckDB SQL, in one process, with none of Snowflake's per-file semantics: one read_csv of
every file into a BRONZE table of a database file (all text, the file name and load time added), committed; then the
batch deduplicated on the merge key (latest wins) with its change hash into a temporary table and written into a
SILVER table, committed. Whatever retail-etl does beyond that is its own cost; if the floor alone exceeds 3x the
in-memory read, no DuckDB-file implementation can meet that figure on this machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "retail-etl")

COLUMNS = """
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'Company ' || (i % 997) END AS COMPANYNAME,
    '+1-555-' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') AS PHONE,
    CAST(i % 9999 AS VARCHAR) || ' Main Street' AS ADDRESSLINE1,
    CASE WHEN i % 3 = 0 THEN 'Apt ' || (i % 40) ELSE NULL END AS ADDRESSLINE2,
    'City ' || (i % 501) AS CITY,
    'ST' AS STATE,
    lpad(CAST(i % 99999 AS VARCHAR), 5, '0') AS POSTALCODE,
    'USA' AS COUNTRY,
    NULL AS PROVINCE,
    'First' || i AS FIRST_NAME,
    'Last' || (i * 7919 % 1000003) AS LAST_NAME
"""


def write_files(folder: Path, rows: int, files: int) -> list[Path]:
    """Deterministic customer CSVs in the landing layout: distinct customers, a header line each."""
    folder.mkdir(parents=True, exist_ok=True)
    per_file = rows // files
    paths = []
    connection = duckdb.connect()
    for index in range(files):
        path = folder / f"customers_bench_{index:03d}.csv"
        start = index * per_file
        rows_sql = f"SELECT {COLUMNS} FROM range({start}, {start + per_file}) AS r(i)"
        connection.execute(f"COPY ({rows_sql}) TO '{path}' (HEADER, DELIMITER ',')")
        paths.append(path)
    connection.close()
    return paths


def baseline(paths: list[Path], database: Path | None = None) -> float:
    """DuckDB alone: read_csv of the same files into a table, in memory or (``database``) in a new database file,
    committed and closed as the local target's processes leave theirs."""
    if database is not None:
        database.unlink(missing_ok=True)
    start = time.perf_counter()
    connection = duckdb.connect(str(database) if database is not None else ":memory:")
    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    connection.execute(f"CREATE TABLE T AS SELECT * FROM read_csv({files}, header = true)")
    connection.close()
    return time.perf_counter() - start


HASHED = ("COMPANYNAME", "PHONE", "ADDRESSLINE1", "ADDRESSLINE2", "CITY", "STATE", "COUNTRY", "POSTALCODE", "PROVINCE")


def floor(paths: list[Path], database: Path) -> float:
    """The hand-written DuckDB pipeline (see the module docstring): load, then deduplicate, hash and write SILVER,
    each step committed and its connection closed, as separate runs would."""
    for leftover in (database, database.with_name(database.name + ".wal")):
        leftover.unlink(missing_ok=True)
    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    hashed = ", ".join(f"coalesce(trim({column}), '')" for column in HASHED)
    start = time.perf_counter()
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "CREATE TABLE BRONZE AS SELECT *, current_timestamp AS INSERT_DTS "
            f"FROM read_csv({files}, header = true, all_varchar = true, filename = true)"
        )
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            f"CREATE TEMP TABLE XFM AS SELECT * EXCLUDE (filename), md5(concat_ws('|', {hashed})) AS MD5_HASH "
            "FROM BRONZE WHERE FIRST_NAME IS NOT NULL AND LAST_NAME IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY FIRST_NAME, LAST_NAME ORDER BY INSERT_DTS DESC, filename DESC) = 1"
        )
        connection.execute("CREATE TABLE SILVER AS SELECT * FROM XFM")
    return time.perf_counter() - start


def timed(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([CLI, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_case(base: Path, rows: int, files: int) -> None:
    project = base / f"project_{files}"
    shutil.copytree(REPO / "pipelines", project / "pipelines")
    paths = write_files(base / f"data_{files}", rows, files)
    size = sum(p.stat().st_size for p in paths)
    reference = min(baseline(paths) for _ in range(2))
    on_file = min(baseline(paths, base / f"baseline_{files}.duckdb") for _ in range(2))
    least = min(floor(paths, base / f"floor_{files}.duckdb") for _ in range(2))
    subprocess.run([CLI, "apply", "--auto-approve"], cwd=project, check=True, stdout=subprocess.DEVNULL)
    upload = timed("upload", *map(str, paths), cwd=project)  # lands the files; the pipe loads them at once
    run = timed("run", "--now", cwd=project)  # task: stream -> XFM -> MERGE into SILVER
    total = upload + run
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    count = subprocess.run(
        [CLI, "query", "SELECT COUNT(*) FROM SILVER.CUSTOMER", "--csv"], cwd=project, check=True, capture_output=True
    ).stdout.split()[-1]
    print(
        f"{rows:,} rows in {files} file(s), {size / 1e6:.0f} MB: DuckDB read_csv {reference:.2f} s in memory,"
        f" {on_file:.2f} s into a database file; upload + pipe {upload:.2f} s, task (stream -> MERGE) {run:.2f} s,"
        f" total {total:.2f} s = {total / reference:.1f}x (in memory), {total / on_file:.1f}x (database file);"
        f" SILVER rows {count.decode()}; peak RSS {peak_mb:.0f} MB\n"
        f"  floor (the same work by hand in DuckDB, one process): {least:.2f} s = {least / reference:.1f}x (in memory),"
        f" {least / on_file:.1f}x (database file); retail-etl = {total / least:.1f}x the floor"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        run_case(base, options.rows, 1)
        run_case(base, options.rows, 100)


if __name__ == "__main__":
    main()
