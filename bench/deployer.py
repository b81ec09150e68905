"""Benchmarks of issue #2: plan/apply against a fake account that adds 100 ms to every query.

Run: ``.venv/bin/python bench/deployer.py`` (or ``make bench``). Prints one line per figure; BENCHMARKS.md
records them with the date and machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retail_etl.emulator import Account, EmulatedSession
from retail_etl.plan.apply import execute_plan
from retail_etl.workflow import load, make_plan
from synthetic import make_project

LATENCY = 0.1
CLI = str(Path(sys.executable).parent / "retail-etl")


def wall(command: list[str], repeat: int = 5) -> float:
    """Best wall time of a command, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        help_time = wall([CLI, "--help"])
        print(f"retail-etl --help: {help_time:.3f} s (best of 5)")

        big = make_project(base / "p1000", 1000)
        validate_time = wall([CLI, "validate", "-C", str(big)], 3)
        render_time = wall([CLI, "render", "-C", str(big)], 3)
        print(f"validate, 1000 pipelines: {validate_time:.2f} s (best of 3)")
        print(f"render (validates, then renders every object), 1000 pipelines: {render_time:.2f} s (best of 3)")

        project = load(make_project(base / "p100", 100), None)
        session = EmulatedSession(account=Account(), latency=LATENCY)
        start = time.perf_counter()
        plan = make_plan(project, session, "bench")
        plan_time = time.perf_counter() - start
        queries = len(session.history)
        print(
            f"plan, 100 pipelines, empty account, {LATENCY * 1000:.0f} ms/query: {plan_time:.2f} s, {queries} queries"
        )

        start = time.perf_counter()
        result = execute_plan(plan, session, parallelism=8)
        apply_time = time.perf_counter() - start
        assert result.ok, result.failed
        print(
            f"apply, 100 pipelines ({len(result.done)} changes, {result.statements} statements),"
            f" parallelism 8: {apply_time:.2f} s"
        )
        before = len(session.history)
        again = make_plan(project, session, "bench")
        print(f"plan after apply: {len(again.actionable)} change(s), {len(session.history) - before} queries")


if __name__ == "__main__":
    main()
