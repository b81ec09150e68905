"""The bad-spec corpus: each case in tests/bad_specs/ must fail ``retail-etl validate`` with exactly its lines.

A case is a minimal project directory (``pipelines/project.yml`` plus pipeline files) with one thing broken, and
``expected.txt``: the error lines, ``pipelines/<file>:<line>:<col>: <field>: <message>``, paths relative to the
case. Optional ``args.txt`` holds extra CLI arguments (``--env staging``) and ``environ.txt`` ``NAME=value`` lines
for the environment the case runs in. Every case runs in a copy, from an empty working directory, so anything the
command writes would be seen.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import copy_customer_pipelines
from retail_etl.cli import app
from retail_etl.spec.load import SpecError, load_project
from retail_etl.spec.resolve import resolve
from retail_etl.spec.yaml_source import MAX_NODES, load_yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "bad_specs"
CASES = sorted(path for path in CORPUS.iterdir() if path.is_dir())


def _clean_environ(extra: dict[str, str] | None = None) -> dict[str, str | None]:
    """The project's own variables unset (so the shipped defaults apply), plus ``extra``."""
    environ: dict[str, str | None] = {name: None for name in os.environ if name.startswith("RETAIL_ETL_")}
    environ.update(extra or {})
    return environ


def _case_environ(case: Path) -> dict[str, str]:
    path = case / "environ.txt"
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {name: value for name, value in pairs}


def _case_args(case: Path) -> list[str]:
    path = case / "args.txt"
    return path.read_text(encoding="utf-8").split() if path.is_file() else []


def _files(root: Path) -> set[Path]:
    return {path.relative_to(root) for path in root.rglob("*")}


def _invoke(args: list[str], environ: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=environ)


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert (case / "pipelines" / "project.yml").is_file(), case.name
        expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
        assert expected, case.name
        assert all(line.startswith("pipelines/") for line in expected), case.name
    # At least one case reports several errors in two files at once.
    assert any(
        len({line.split(":", 1)[0] for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines()}) >= 2
        for case in CASES
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_spec_is_rejected(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    shutil.copytree(case / "pipelines", project / "pipelines")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    before = _files(project)

    result = _invoke(["validate", "-C", str(project), *_case_args(case)], _clean_environ(_case_environ(case)))

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    stderr = result.stderr.replace(f"{project}{os.sep}", "")
    reported = [line for line in stderr.splitlines() if line.startswith("pipelines/")]
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert reported == expected
    assert "nothing was applied" in stderr
    # Nothing applied or written: no state directory, no new files anywhere.
    assert not (project / ".retail-etl").exists()
    assert not (workdir / ".retail-etl").exists()
    assert _files(project) == before
    assert _files(workdir) == set()


@pytest.mark.parametrize("env", [None, "dev", "prod"])
def test_shipped_project_validates(env: str | None) -> None:
    args = ["validate", "-C", str(REPO)] + (["--env", env] if env else [])
    result = _invoke(args, _clean_environ())
    assert result.exit_code == 0, result.output
    assert "specs are valid" in result.stdout
    assert "error" not in result.stderr.lower()


def _copy_shipped(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    copy_customer_pipelines(project / "pipelines")
    return project


def test_interpolation_substitutes_environment_values(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    environ = {
        "RETAIL_ETL_BUCKET": "acme-retail-landing",
        "RETAIL_ETL_S3_ROLE_ARN": "arn:aws:iam::123456789012:role/acme-snowflake",
    }

    result = _invoke(["render", "-C", str(project)], _clean_environ(environ))

    assert result.exit_code == 0, result.output
    assert "s3://acme-retail-landing/raw_data/customer/" in result.stdout
    assert "arn:aws:iam::123456789012:role/acme-snowflake" in result.stdout
    assert "snowflake-project-etl" not in result.stdout
    assert not (project / ".retail-etl").exists()


def test_interpolation_falls_back_to_defaults(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    result = _invoke(["render", "-C", str(project)], _clean_environ())
    assert result.exit_code == 0, result.output
    assert "s3://snowflake-project-etl/raw_data/customer/" in result.stdout


def test_interpolation_without_the_cli(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    loaded = load_project(project, environ={"RETAIL_ETL_BUCKET": "acme-retail-landing"})
    assert loaded.project.bucket == "acme-retail-landing"
    assert loaded.project.storage_integration.allowed_locations == ["s3://acme-retail-landing/raw_data/"]
    assert resolve(loaded).pipelines[0].bucket == "acme-retail-landing"


def test_missing_variable_is_reported_once_with_its_position(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    path = project / "pipelines" / "project.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("${RETAIL_ETL_BUCKET:-snowflake-project-etl}", "${B}"))
    with pytest.raises(SpecError) as raised:
        load_project(project, environ={})
    # Both uses of the variable are reported, each once (not again as an invalid bucket name or URL).
    assert [(issue.position.line, issue.field_path) for issue in raised.value.issues] == [
        (10, "bucket"),
        (16, "storage_integration.allowed_locations[0]"),
    ]
    assert all("environment variable B is not set" in issue.message for issue in raised.value.issues)


def test_pipelines_may_share_an_identical_file_format(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    customer = (project / "pipelines" / "customer.yml").read_text(encoding="utf-8")
    store = (
        customer.replace("pipeline: customer", "pipeline: store")
        .replace("raw_data/customer/", "raw_data/store/")
        .replace("  name: CUSTOMER\n", "  name: STORE\n")
        .replace("  name: CUSTOMER_VIEW", "  name: STORE_VIEW")
    )
    (project / "pipelines" / "store.yml").write_text(store, encoding="utf-8")

    result = _invoke(["validate", "-C", str(project)], _clean_environ())

    assert result.exit_code == 0, result.output
    desired = resolve(load_project(project, environ={}))
    formats = [obj for obj in desired.objects if obj.kind.value == "file_format"]
    assert [obj.name.display for obj in formats] == ["SNOWLAKE_DB.BRONZE.MY_CSV_FORMAT"]


def test_yaml_merge_keys_are_supported(tmp_path: Path) -> None:
    path = tmp_path / "spec.yml"
    path.write_text("base: &base {a: 1, b: 2}\nderived:\n  <<: *base\n  b: 3\n", encoding="utf-8")
    document, issues = load_yaml(path, {})
    assert issues == []
    assert document.data == {"base": {"a": 1, "b": 2}, "derived": {"a": 1, "b": 3}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [*x]\n", "recursive YAML alias"),
        (
            "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcde", "bcdef", strict=True)),
            f"too many YAML nodes (more than {MAX_NODES})",
        ),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        ("a: !!python/name:os.system x\n", "unsupported tag"),
        ("on: 1\nyes: 2\n", None),
    ],
    ids=["recursive-alias", "alias-bomb", "deep-nesting", "python-tag", "yaml11-boolean-keys"],
)
def test_hostile_yaml_is_reported_not_raised(tmp_path: Path, text: str, message: str | None) -> None:
    path = tmp_path / "spec.yml"
    path.write_text(text, encoding="utf-8")
    document, issues = load_yaml(path, {})
    if message is None:
        assert issues == []
        assert document.data == {"on": 1, "yes": 2}  # keys stay text, not YAML 1.1 booleans
    else:
        assert any(message in issue.message for issue in issues)


def test_an_empty_variable_takes_the_default_as_in_the_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_customer_pipelines(tmp_path / "pipelines")
    monkeypatch.setenv("RETAIL_ETL_BUCKET", "")
    rendered = CliRunner().invoke(app, ["render", "-C", str(tmp_path)])
    assert rendered.exit_code == 0, rendered.stderr
    assert "URL = 's3://snowflake-project-etl/raw_data/customer/'" in rendered.stdout


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # a string literal spanning lines would be re-indented inside the SQL procedure body
        ("  language: javascript", "  language: sql\n  filter: \"COMPANYNAME <> 'a\\nb'\"", "must not span lines"),
        ("  language: javascript", "  language: sql\n  filter: \"COMPANYNAME <> 'a\\x1bb'\"", "control character"),
        (
            "  language: javascript",
            "  language: sql\n  filter: " + "(" * 400 + "1 = 1" + ")" * 400,
            "nested too deeply",
        ),
        ("pipe:\n", 'pipe:\n  on_error: "SKIP_FILE\\n"\n', "must be CONTINUE, SKIP_FILE"),
        ("pipeline: customer", 'pipeline: "customer\\n"', "pipeline"),
        ("comment: INGEST DATA FILES", "comment: ${SNOWFLAKE_PASSWORD} INGEST", "looks like a credential"),
    ],
)
def test_values_that_would_change_meaning_or_leak_are_input_errors(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    project = _copy_shipped(tmp_path)
    spec = project / "pipelines" / "customer.yml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = _invoke(["render", "-C", str(project)], _clean_environ({"SNOWFLAKE_PASSWORD": "Hunter2Secret"}))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and message in result.stderr
    assert "customer.yml:" in result.stderr and "Hunter2Secret" not in result.output + result.stderr


def test_render_keeps_a_file_name_inside_its_comment(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    (project / "pipelines" / "customer.yml").rename(project / "pipelines" / "customer\nDROP DATABASE X;\n--.yml")
    result = _invoke(["render", "-C", str(project)], _clean_environ())
    assert result.exit_code == 0, result.output
    assert not [line for line in result.stdout.splitlines() if line.startswith("DROP DATABASE")]


def test_arns_take_ascii_digits_only(tmp_path: Path) -> None:
    # \d would also accept other scripts' digits: an ARN Snowflake and AWS then refuse at apply time.
    project = _copy_shipped(tmp_path)
    arn = "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/snowflake"
    result = _invoke(["validate", "-C", str(project)], _clean_environ({"RETAIL_ETL_S3_ROLE_ARN": arn}))
    assert result.exit_code == 2, result.output
    assert "role_arn" in result.stderr


def test_binary_scalars_are_refused(tmp_path: Path) -> None:
    project = _copy_shipped(tmp_path)
    spec = project / "pipelines" / "customer.yml"
    text = spec.read_text(encoding="utf-8")
    old = "comment: INGEST DATA FILES FROM SNOWFLAKE EXTERNAL STAGE LOCATION"
    spec.write_text(text.replace(old, "comment: !!binary aGVsbG8="), encoding="utf-8")
    result = _invoke(["validate", "-C", str(project)], _clean_environ())
    assert result.exit_code == 2, result.output
    assert "customer.yml:" in result.stderr and "!!binary" in result.stderr
