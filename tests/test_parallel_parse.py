"""Large projects parse their YAML in a forked child too: the result must equal parsing it all here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_forked_parsing_matches_serial_parsing_errors_included(tmp_path: Path) -> None:
    # In a fresh single-threaded interpreter (test workers run threads, which disable forking on purpose).
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO / "bench")!r})
        from pathlib import Path
        from synthetic import make_project
        from retail_etl.spec import yaml_source

        root = make_project(Path({str(tmp_path / "p")!r}), 80)
        files = sorted((root / "pipelines").glob("*.yml"))
        # Errors in both halves: a duplicate key early, a syntax error and an unset variable late.
        files[3].write_text(files[3].read_text() + "pipeline: again\\n")
        files[70].write_text(files[70].read_text().replace("skip_header: 1", "skip_header: [1"))
        files[75].write_text(files[75].read_text().replace("description: Customer", "description: ${{UNSET_VAR}}"))

        def digest(results):
            return [(str(d.path), d.data, [str(i) for i in issues], d.position_of(("landing", "columns", 2)))
                    for d, issues in results]

        assert yaml_source._can_fork()
        forked = digest(yaml_source.load_yaml_files(files, {{}}))
        yaml_source._PARALLEL_FROM = 10**9
        serial = digest(yaml_source.load_yaml_files(files, {{}}))
        assert forked == serial
        assert sum(1 for _, _, issues, _ in forked if issues) == 3
        print("same", len(forked))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "same 81"
