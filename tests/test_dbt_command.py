"""`retail-etl dbt`: the dbt profile and --vars made from the project's targets and environments, dbt run in-process
on the local target end to end, and on the Snowflake path the exact profile and arguments (dbt's runner replaced,
nothing connects). Secrets reach dbt only through DBT_ENV_SECRET_* variables set for the invocation."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from conftest import copy_customer_pipelines
from retail_etl import workflow
from retail_etl.cli import app
from retail_etl.dbt import runner
from retail_etl.dbt.profile import ProfileError, build_profile, dbt_vars
from retail_etl.dbt.runner import DbtOutcome, DbtUsageError
from retail_etl.sample.customers import customer_days
from retail_etl.targets.snowflake.config import ConnectionSettings

SECRET = "s3cret-Pa55-do-not-print"
PASSWORD_VARIABLE = "DBT_ENV_SECRET_RETAIL_ETL_PASSWORD"
TOKEN_VARIABLE = "DBT_ENV_SECRET_RETAIL_ETL_TOKEN"
DAY1 = "customers_2023-12-30.csv"
TAG = '{{"app":"retail-etl","command":"dbt","project":"retail","env":{env}}}'
TINY_PROJECT = "name: tiny\nversion: '1.0'\nprofile: retail_etl\n"
GOLD_MODEL = """{{ config(materialized='table') }}
select FIRST_NAME, LAST_NAME, CITY
from {{ var('retail_database') }}.{{ var('silver_schema') }}.CUSTOMER
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RETAIL_ETL_BUCKET", "RETAIL_ETL_S3_ROLE_ARN", "RETAIL_ETL_SNS_TOPIC_ARN", "RETAIL_ETL_SNS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    copy_customer_pipelines(tmp_path / "pipelines")
    return tmp_path


def with_dbt_project(root: Path) -> Path:
    dbt_dir = root / "dbt"
    (dbt_dir / "models").mkdir(parents=True)
    (dbt_dir / "dbt_project.yml").write_text(TINY_PROJECT)
    (dbt_dir / "models" / "gold_customers.sql").write_text(GOLD_MODEL)
    return dbt_dir


def cli(project: Path, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "-C", str(project)])
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, result.output + result.stderr
    return result


def settings(**params: Any) -> ConnectionSettings:
    return ConnectionSettings(name="retail", source="connections.toml [retail]", params=params)


# --- the profile, on plain data ----------------------------------------------------------------------------------


def test_local_profile_is_the_targets_duckdb_file_of_the_database_with_the_gold_schema(project: Path) -> None:
    profile = build_profile(workflow.load(project, None), "local")
    assert profile.document == {
        "retail_etl": {
            "target": "local",
            "outputs": {
                "local": {
                    "type": "duckdb",
                    "path": str(project.resolve() / ".retail-etl" / "warehouse" / "SNOWLAKE_DB.duckdb"),
                    "database": "SNOWLAKE_DB",
                    "schema": "GOLD",
                    "threads": 4,
                    "settings": {"TimeZone": "America/Los_Angeles"},
                    "keep_open": False,
                }
            },
        }
    }
    assert profile.secrets == {} and profile.secret_files == {}


def test_environments_change_the_database_of_the_profile_and_the_vars(project: Path) -> None:
    assert dbt_vars(workflow.load(project, None)) == {
        "retail_database": "SNOWLAKE_DB",
        "bronze_schema": "BRONZE",
        "silver_schema": "SILVER",
        "gold_schema": "GOLD",
    }
    dev = workflow.load(project, "dev")
    assert dbt_vars(dev)["retail_database"] == "SNOWLAKE_DB_DEV"
    local = build_profile(dev, "local").document["retail_etl"]["outputs"]["local"]
    assert local["database"] == "SNOWLAKE_DB_DEV" and local["path"].endswith("/warehouse/SNOWLAKE_DB_DEV.duckdb")
    prod = build_profile(dev, "prod", settings(account="org-acct", user="U", password=SECRET))
    assert prod.document["retail_etl"]["outputs"]["prod"]["database"] == "SNOWLAKE_DB_DEV"
    assert prod.document["retail_etl"]["outputs"]["prod"]["query_tag"] == TAG.format(env='"dev"')


def test_snowflake_profile_references_the_password_and_never_holds_it(project: Path) -> None:
    connection = settings(
        account="myorg-myacct",
        user="DBT_USER",
        password=SECRET,
        role="TRANSFORMER",
        warehouse="TRANSFORM_WH",
        database="NOT_THE_PROJECTS",
        port="8443",
        region="ignored-by-dbt",
    )
    profile = build_profile(workflow.load(project, None), "prod", connection)
    assert profile.document["retail_etl"] == {
        "target": "prod",
        "outputs": {
            "prod": {
                "type": "snowflake",
                "account": "myorg-myacct",
                "user": "DBT_USER",
                "port": 8443,
                "role": "TRANSFORMER",
                "warehouse": "TRANSFORM_WH",
                "database": "SNOWLAKE_DB",
                "schema": "GOLD",
                "threads": 8,
                "query_tag": TAG.format(env="null"),
                "password": "{{ env_var('DBT_ENV_SECRET_RETAIL_ETL_PASSWORD') }}",
            }
        },
    }
    assert profile.secrets == {PASSWORD_VARIABLE: SECRET}
    text = profile.yaml()
    assert SECRET not in text and f"# export {PASSWORD_VARIABLE}: the Snowflake password" in text
    assert yaml.safe_load(text) == profile.document


def test_snowflake_key_pair_and_token_file_map_to_dbt_keys(project: Path) -> None:
    loaded = workflow.load(project, None)
    key_pair = build_profile(
        loaded,
        "prod",
        settings(
            account="a",
            user="u",
            private_key_file="/keys/rsa.p8",
            private_key_file_pwd=SECRET,
            authenticator="SNOWFLAKE_JWT",
        ),
    )
    output = key_pair.document["retail_etl"]["outputs"]["prod"]
    # Key-pair is dbt-snowflake's default given a key: no authenticator key. No warehouse in the connection: the
    # project's.
    assert "authenticator" not in output and output["warehouse"] == "COMPUTE_WH"
    assert output["private_key_path"] == "/keys/rsa.p8"
    assert output["private_key_passphrase"] == "{{ env_var('DBT_ENV_SECRET_RETAIL_ETL_PRIVATE_KEY_PASSPHRASE') }}"
    assert key_pair.secrets == {"DBT_ENV_SECRET_RETAIL_ETL_PRIVATE_KEY_PASSPHRASE": SECRET}

    oauth = build_profile(loaded, "prod", settings(account="a", authenticator="OAUTH", token_file_path="/run/token"))
    output = oauth.document["retail_etl"]["outputs"]["prod"]
    assert output["authenticator"] == "oauth" and "user" not in output
    assert output["token"] == f"{{{{ env_var('{TOKEN_VARIABLE}') }}}}"
    assert oauth.secrets == {} and oauth.secret_files == {TOKEN_VARIABLE: Path("/run/token")}


def test_what_dbt_cannot_take_is_refused_with_the_key_not_the_value(project: Path) -> None:
    loaded = workflow.load(project, None)
    with pytest.raises(ProfileError, match="no equivalent of authenticator OAUTH_CLIENT_CREDENTIALS"):
        build_profile(loaded, "prod", settings(account="a", authenticator="OAUTH_CLIENT_CREDENTIALS"))
    # dbt renders profile values as Jinja: a value that would be evaluated is refused, not passed on.
    with pytest.raises(ProfileError, match="the role of the dbt profile contains Jinja") as refused:
        build_profile(loaded, "prod", settings(account="a", user="u", password=SECRET, role="{{ evil }}"))
    assert "evil" not in str(refused.value)


# --- the CLI on the local target, end to end ---------------------------------------------------------------------


def silver_names(project: Path) -> set[tuple[str, str, str]]:
    rows = csv.DictReader(io.StringIO(customer_days()[DAY1]))
    return {(row["FIRST_NAME"], row["LAST_NAME"], row["CITY"]) for row in rows}


def test_dbt_builds_a_gold_model_from_silver_on_the_local_target(project: Path) -> None:
    cli(project, "apply", "--auto-approve")
    incoming = project / "incoming" / DAY1
    incoming.parent.mkdir()
    incoming.write_text(customer_days()[DAY1])
    cli(project, "upload", str(incoming))
    cli(project, "run", "--now")
    dbt_dir = with_dbt_project(project)

    built = cli(project, "dbt", "build", "--select", "gold_customers")
    assert "gold_customers" in built.stdout
    # dbt-duckdb has let go of the file: it opens read-only, from this process, again.
    database = project / ".retail-etl" / "warehouse" / "SNOWLAKE_DB.duckdb"
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute('SELECT FIRST_NAME, LAST_NAME, CITY FROM "GOLD"."gold_customers"').fetchall()
    assert len(rows) == 20 and set(rows) == silver_names(project)

    (dbt_dir / "tests").mkdir()
    (dbt_dir / "tests" / "no_customers.sql").write_text("select * from {{ ref('gold_customers') }}\n")
    failed = cli(project, "dbt", "test", code=1)
    assert "no_customers" in failed.stdout
    usage = cli(project, "dbt", "run", "--no-such-dbt-option", code=2)
    assert "no-such-dbt-option" in usage.stderr


def test_no_dbt_folder_is_bad_usage_with_a_clear_message(project: Path) -> None:
    result = cli(project, "dbt", "build", code=2)
    assert f"no dbt project: {project.resolve() / 'dbt' / 'dbt_project.yml'} does not exist" in result.stderr


def test_unknown_target_and_undeployed_database_stop_before_dbt(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_dbt_project(project)
    monkeypatch.setattr(runner, "invoke_dbt", lambda args: pytest.fail("dbt must not run"))
    assert "unknown target 'nowhere'" in cli(project, "dbt", "run", "-t", "nowhere", code=2).stderr
    undeployed = cli(project, "dbt", "run", code=1)
    assert "database SNOWLAKE_DB is not deployed on target 'local' yet" in undeployed.stderr
    assert not (project / ".retail-etl").exists()  # dbt-duckdb did not create an empty database file


# --- the CLI on the Snowflake path: the profile and the arguments dbt gets ---------------------------------------


@pytest.fixture
def snowflake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """connections.toml with the `retail` connection of the shipped `prod` target; nothing from the real user."""
    home = tmp_path / "snowflake-home"
    home.mkdir()
    for name in [name for name in os.environ if name.startswith(("SNOWFLAKE_", "DBT_ENV_SECRET_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path))
    connections = home / "connections.toml"
    connections.write_text(
        f'[retail]\naccount = "myorg-myacct"\nuser = "DBT_USER"\npassword = "{SECRET}"\nrole = "TRANSFORMER"\n'
    )
    connections.chmod(0o600)
    return home


class FakeDbt:
    """Stands in for dbtRunner: records what dbt would have been given, and what it could see while running."""

    def __init__(self, outcome: DbtOutcome) -> None:
        self.outcome = outcome
        self.calls: list[dict[str, Any]] = []

    def __call__(self, args: list[str]) -> DbtOutcome:
        profiles_dir = Path(args[args.index("--profiles-dir") + 1])
        profiles = profiles_dir / "profiles.yml"
        self.calls.append(
            {
                "args": args,
                "profiles_dir": profiles_dir,
                "profile_text": profiles.read_text(),
                "modes": (stat.S_IMODE(profiles_dir.stat().st_mode), stat.S_IMODE(profiles.stat().st_mode)),
                "environment": {
                    name: os.environ.get(name)
                    for name in (PASSWORD_VARIABLE, TOKEN_VARIABLE, "DBT_SEND_ANONYMOUS_USAGE_STATS")
                },
            }
        )
        return self.outcome


@pytest.fixture
def fake_dbt(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDbt]:
    fake = FakeDbt(DbtOutcome(True))
    monkeypatch.setattr(runner, "invoke_dbt", fake)
    yield fake


def test_snowflake_build_gets_the_profile_vars_and_user_arguments_and_the_secret_only_while_running(
    project: Path, snowflake_home: Path, fake_dbt: FakeDbt, monkeypatch: pytest.MonkeyPatch
) -> None:
    dbt_dir = with_dbt_project(project)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "true")
    result = cli(project, "dbt", "build", "-t", "prod", "--select", "gold+", "--vars", "{lookback_days: 7}", "-x")
    [call] = fake_dbt.calls
    variables = {
        "bronze_schema": "BRONZE",
        "gold_schema": "GOLD",
        "lookback_days": 7,
        "retail_database": "SNOWLAKE_DB",
        "silver_schema": "SILVER",
    }
    assert call["args"] == [
        "build",
        "--project-dir",
        str(dbt_dir.resolve()),
        "--profiles-dir",
        str(call["profiles_dir"]),
        "--target",
        "prod",
        "--vars",
        json.dumps(variables, sort_keys=True),
        "--select",
        "gold+",
        "-x",
    ]
    assert yaml.safe_load(call["profile_text"])["retail_etl"]["outputs"]["prod"] == {
        "type": "snowflake",
        "account": "myorg-myacct",
        "user": "DBT_USER",
        "role": "TRANSFORMER",
        "warehouse": "COMPUTE_WH",
        "database": "SNOWLAKE_DB",
        "schema": "GOLD",
        "threads": 8,
        "query_tag": TAG.format(env="null"),
        "password": "{{ env_var('DBT_ENV_SECRET_RETAIL_ETL_PASSWORD') }}",
    }
    assert SECRET not in call["profile_text"]
    assert call["modes"] == (0o700, 0o600)
    assert call["environment"] == {
        PASSWORD_VARIABLE: SECRET,
        TOKEN_VARIABLE: None,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    # Afterwards: the profile is gone and the environment is as it was.
    assert not call["profiles_dir"].exists()
    assert PASSWORD_VARIABLE not in os.environ and os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "true"
    assert SECRET not in result.output + result.stderr


def test_a_token_file_reaches_dbt_through_the_environment(
    project: Path, snowflake_home: Path, fake_dbt: FakeDbt, tmp_path: Path
) -> None:
    with_dbt_project(project)
    token = tmp_path / "token"
    token.write_text(SECRET + "\n")
    (snowflake_home / "connections.toml").write_text(
        f'[retail]\naccount = "myorg-myacct"\nauthenticator = "oauth"\ntoken_file_path = "{token}"\n'
    )
    cli(project, "dbt", "run", "-t", "prod")
    [call] = fake_dbt.calls
    assert call["environment"][TOKEN_VARIABLE] == SECRET
    assert "authenticator: oauth" in call["profile_text"] and SECRET not in call["profile_text"]
    assert TOKEN_VARIABLE not in os.environ


def test_dbt_errors_are_reported_with_secrets_masked_and_exit_codes_by_kind(
    project: Path, snowflake_home: Path, fake_dbt: FakeDbt
) -> None:
    with_dbt_project(project)
    fake_dbt.outcome = DbtOutcome(False, RuntimeError(f"250001: could not connect with password {SECRET}"))
    failed = cli(project, "dbt", "run", "-t", "prod", code=1)
    assert "could not connect with password ****" in failed.stderr and SECRET not in failed.output + failed.stderr
    fake_dbt.outcome = DbtOutcome(False)  # failing models: dbt has said which
    assert cli(project, "dbt", "test", "-t", "prod", code=1).stderr == ""
    fake_dbt.outcome = DbtOutcome(False, DbtUsageError("No such option: --bogus"))
    assert "No such option: --bogus" in cli(project, "dbt", "run", "-t", "prod", "--bogus", code=2).stderr
    refused = cli(project, "dbt", "run", "-t", "prod", "--vars", "[1, 2]", code=2)
    assert "is not a YAML or JSON mapping" in refused.stderr and len(fake_dbt.calls) == 3


def test_dbt_profile_prints_env_var_references_only(project: Path, snowflake_home: Path) -> None:
    result = cli(project, "dbt", "profile", "-t", "prod", "--env", "dev")
    assert SECRET not in result.stdout
    assert f"# export {PASSWORD_VARIABLE}: the Snowflake password" in result.stdout
    assert '"retail_database": "SNOWLAKE_DB_DEV"' in result.stdout
    output = yaml.safe_load(result.stdout)["retail_etl"]["outputs"]["prod"]
    assert output["password"] == f"{{{{ env_var('{PASSWORD_VARIABLE}') }}}}"
    assert output["database"] == "SNOWLAKE_DB_DEV"
