"""Snowflake connections resolved like the Snowflake CLI, and the Session over the connector (faked here)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import snowflake.connector
from snowflake.connector.errors import DatabaseError, ProgrammingError

from retail_etl.targets.session import SessionError
from retail_etl.targets.snowflake.config import (
    MASK,
    ConnectionConfigError,
    ConnectionSettings,
    config_dir,
    resolve_connection,
)
from retail_etl.targets.snowflake.session import SnowflakeSession

SECRET = "hunter2-s3cret-value"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory; HOME points at it so nothing from the real user leaks in."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    for var in [name for name in os.environ if name.startswith(("SNOWFLAKE_", "SF_", "XDG_"))]:
        monkeypatch.delenv(var)
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {"HOME": str(home)}


@pytest.fixture
def dot_snowflake(home: Path) -> Path:
    path = home / ".snowflake"
    path.mkdir()
    return path


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    path.chmod(mode)
    return path


def key_file(home: Path) -> Path:
    return write(home / ".ssh" / "rsa_key.p8", PEM)


def config_error(env: dict[str, str], name: str | None = None, **kwargs: Any) -> str:
    """The error message, which must never carry a secret."""
    with pytest.raises(ConnectionConfigError) as caught:
        resolve_connection(name, environ=env, **kwargs)
    message = str(caught.value)
    assert SECRET not in message
    return message


# --- config directory (§15.1) -----------------------------------------------------------------------------------


def test_snowflake_home_wins_when_it_exists(home: Path, dot_snowflake: Path, tmp_path: Path) -> None:
    custom = tmp_path / "sfhome"
    custom.mkdir()
    assert config_dir({"HOME": str(home), "SNOWFLAKE_HOME": str(custom)}) == custom


def test_snowflake_home_expands_tilde(home: Path) -> None:
    (home / "sf").mkdir()
    assert config_dir({"HOME": str(home), "SNOWFLAKE_HOME": "~/sf"}) == home / "sf"


def test_missing_snowflake_home_falls_back_to_dot_snowflake(home: Path, dot_snowflake: Path, tmp_path: Path) -> None:
    assert config_dir({"HOME": str(home), "SNOWFLAKE_HOME": str(tmp_path / "absent")}) == dot_snowflake


def test_dot_snowflake_beats_platform_directory(home: Path, dot_snowflake: Path, tmp_path: Path) -> None:
    assert config_dir({"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}, platform="linux") == dot_snowflake


@pytest.mark.parametrize(
    ("platform", "xdg", "expected"),
    [
        ("linux", False, ".config/snowflake"),
        ("linux", True, "xdg/snowflake"),
        ("darwin", False, "Library/Application Support/snowflake"),
        ("win32", False, "AppData/Local/snowflake"),
    ],
)
def test_platform_directory(home: Path, tmp_path: Path, platform: str, xdg: bool, expected: str) -> None:
    environ = {"HOME": str(home), "USERPROFILE": str(home)}
    if xdg:
        environ["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert config_dir(environ, platform=platform) == (tmp_path if xdg else home) / expected


# --- where connections come from (§15.2) ------------------------------------------------------------------------


def test_connections_toml_top_level_tables(env: dict[str, str], dot_snowflake: Path) -> None:
    path = write(dot_snowflake / "connections.toml", '[dev]\naccount = "org-dev"\nuser = "me"\npassword = "pw"\n')
    settings = resolve_connection("dev", environ=env)
    assert settings.params == {"account": "org-dev", "user": "me", "password": "pw"}
    assert settings.name == "dev"
    assert settings.source == f"{path} [dev]"
    assert settings.warnings == []


def test_config_toml_connections_section(env: dict[str, str], dot_snowflake: Path) -> None:
    path = write(
        dot_snowflake / "config.toml",
        '[connections.dev]\naccount = "org-dev"\nuser = "me"\npassword = "pw"\n[cli.logs]\nsave_logs = true\n',
    )
    settings = resolve_connection("dev", environ=env)
    assert settings.params["account"] == "org-dev"
    assert settings.source == f"{path} [connections.dev]"


def test_connections_toml_hides_config_toml_connections(env: dict[str, str], dot_snowflake: Path) -> None:
    write(dot_snowflake / "config.toml", '[connections.prod]\naccount = "org-prod"\nuser = "me"\npassword = "pw"\n')
    write(dot_snowflake / "connections.toml", '[dev]\naccount = "org-dev"\nuser = "me"\npassword = "pw"\n')
    assert resolve_connection("dev", environ=env).params["account"] == "org-dev"
    message = config_error(env, "prod")
    assert "'prod'" in message
    assert "connections.toml" in message
    assert "defined connections: dev" in message


def test_snowflake_connections_variable_replaces_the_file(env: dict[str, str], dot_snowflake: Path) -> None:
    write(dot_snowflake / "connections.toml", '[dev]\naccount = "from-file"\nuser = "me"\npassword = "pw"\n')
    env["SNOWFLAKE_CONNECTIONS"] = '[dev]\naccount = "from-env"\nuser = "me"\npassword = "pw"\n'
    settings = resolve_connection("dev", environ=env)
    assert settings.params["account"] == "from-env"
    assert settings.source == "SNOWFLAKE_CONNECTIONS [dev]"


def test_config_file_flag_replaces_config_toml(env: dict[str, str], tmp_path: Path) -> None:
    config = write(
        tmp_path / "ci" / "config.toml",
        'default_connection_name = "ci"\n[connections.ci]\naccount = "org-ci"\nuser = "bot"\npassword = "pw"\n',
    )
    settings = resolve_connection(None, environ=env, config_file=config)
    assert settings.name == "ci"
    assert settings.params["account"] == "org-ci"


def test_missing_config_file_flag_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    assert "does not exist" in config_error(env, config_file=tmp_path / "nope.toml")


def test_invalid_toml_names_the_file_but_not_its_text(env: dict[str, str], dot_snowflake: Path) -> None:
    path = write(dot_snowflake / "connections.toml", f'[dev]\npassword = "{SECRET}\n')
    assert str(path) in config_error(env, "dev")


def test_invalid_snowflake_connections_variable(env: dict[str, str]) -> None:
    env["SNOWFLAKE_CONNECTIONS"] = f'[dev]\npassword = "{SECRET}\n'
    assert "SNOWFLAKE_CONNECTIONS" in config_error(env, "dev")


# --- which connection is the default (§15.2) --------------------------------------------------------------------

SECTIONS = "".join(f'[{n}]\naccount = "acct-{n}"\nuser = "me"\npassword = "pw"\n' for n in ("default", "a", "b", "c"))


@pytest.mark.parametrize(
    ("config_toml", "env_name", "explicit", "expected"),
    [
        ("", None, None, "default"),
        ('default_connection_name = "a"\n', None, None, "a"),
        ('default_connection_name = "a"\n', "b", None, "b"),
        ('default_connection_name = "a"\n', "b", "c", "c"),
    ],
)
def test_default_connection_precedence(
    env: dict[str, str],
    dot_snowflake: Path,
    config_toml: str,
    env_name: str | None,
    explicit: str | None,
    expected: str,
) -> None:
    write(dot_snowflake / "connections.toml", SECTIONS)
    write(dot_snowflake / "config.toml", config_toml)
    if env_name:
        env["SNOWFLAKE_DEFAULT_CONNECTION_NAME"] = env_name
    settings = resolve_connection(explicit, environ=env)
    assert settings.name == expected
    assert settings.params["account"] == f"acct-{expected}"


def test_default_connection_name_is_read_from_config_toml_only(env: dict[str, str], dot_snowflake: Path) -> None:
    write(dot_snowflake / "connections.toml", 'default_connection_name = "a"\n' + SECTIONS)
    assert resolve_connection(None, environ=env).name == "default"


@pytest.mark.parametrize("via", ["config", "env"])
def test_configured_default_that_does_not_exist_is_an_error(env: dict[str, str], dot_snowflake: Path, via: str) -> None:
    write(dot_snowflake / "connections.toml", SECTIONS)
    if via == "config":
        write(dot_snowflake / "config.toml", 'default_connection_name = "ghost"\n')
    else:
        env["SNOWFLAKE_DEFAULT_CONNECTION_NAME"] = "ghost"
    env["SNOWFLAKE_ACCOUNT"] = "generic"
    message = config_error(env)
    assert "'ghost'" in message
    assert ("default_connection_name" if via == "config" else "SNOWFLAKE_DEFAULT_CONNECTION_NAME") in message


# --- parameter precedence (§15.5) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({"generic"}, "generic"),
        ({"generic", "file"}, "file"),
        ({"generic", "file", "named"}, "named"),
        ({"generic", "file", "named", "override"}, "override"),
    ],
)
def test_parameter_precedence(env: dict[str, str], dot_snowflake: Path, layers: set[str], expected: str) -> None:
    role = 'role = "file"\n' if "file" in layers else ""
    write(dot_snowflake / "connections.toml", f'[prod]\naccount = "acct"\nuser = "me"\npassword = "pw"\n{role}')
    if "generic" in layers:
        env["SNOWFLAKE_ROLE"] = "generic"
    if "named" in layers:
        env["SNOWFLAKE_CONNECTIONS_PROD_ROLE"] = "named"
    overrides = {"role": "override", "warehouse": None} if "override" in layers else None
    settings = resolve_connection("prod", environ=env, overrides=overrides)
    assert settings.params["role"] == expected
    assert "warehouse" not in settings.params


def test_generic_variables_fill_keys_the_section_lacks(env: dict[str, str], dot_snowflake: Path) -> None:
    write(dot_snowflake / "connections.toml", '[prod]\naccount = "acct"\nuser = "me"\n')
    env |= {"SNOWFLAKE_PASSWORD": SECRET, "SNOWFLAKE_WAREHOUSE": "WH", "SNOWFLAKE_DATABASE": ""}
    params = resolve_connection("prod", environ=env).params
    assert params == {"account": "acct", "user": "me", "password": SECRET, "warehouse": "WH"}


def test_named_variables_do_not_leak_between_prefix_sharing_connections(
    env: dict[str, str], dot_snowflake: Path
) -> None:
    sections = "".join(f'[{n}]\naccount = "acct"\nuser = "me"\npassword = "pw"\n' for n in ("dev", "dev_ci"))
    write(dot_snowflake / "connections.toml", sections)
    env |= {"SNOWFLAKE_CONNECTIONS_DEV_CI_USER": "ci-bot", "SNOWFLAKE_CONNECTIONS_DEV_ROLE": "DEV_ROLE"}
    dev = resolve_connection("dev", environ=env).params
    assert dev["user"] == "me"
    assert dev["role"] == "DEV_ROLE"
    assert "ci_user" not in dev
    assert resolve_connection("dev_ci", environ=env).params["user"] == "ci-bot"


def test_connection_from_generic_variables_alone(env: dict[str, str]) -> None:
    env |= {
        "SNOWFLAKE_ACCOUNT": "org-ci",
        "SNOWFLAKE_USER": "deployer",
        "SNOWFLAKE_PASSWORD": SECRET,
        "SNOWFLAKE_ROLE": "DEPLOYER",
        "SNOWFLAKE_WAREHOUSE": "WH",
    }
    settings = resolve_connection(None, environ=env)
    assert settings.name == "default"
    assert settings.source.startswith("SNOWFLAKE_* environment variables")
    assert settings.params == {
        "account": "org-ci",
        "user": "deployer",
        "password": SECRET,
        "role": "DEPLOYER",
        "warehouse": "WH",
    }


def test_generic_variables_alone_work_with_os_environ(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "org-ci")
    monkeypatch.setenv("SNOWFLAKE_USER", "deployer")
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", SECRET)
    assert resolve_connection(None, environ=os.environ).params["account"] == "org-ci"


def test_an_explicit_name_needs_a_section(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "org-ci", "SNOWFLAKE_USER": "deployer", "SNOWFLAKE_PASSWORD": SECRET}
    message = config_error(env, "prod")
    assert "'prod'" in message
    assert "requested explicitly" in message


# --- key names, files and authenticators (§15.3, §15.5) ---------------------------------------------------------


def test_key_pair_with_cli_spellings(env: dict[str, str], dot_snowflake: Path, home: Path) -> None:
    key_file(home)
    write(
        dot_snowflake / "connections.toml",
        f"""\
        [deploy]
        account = "acct"
        user = "deployer"
        private_key_path = "~/.ssh/rsa_key.p8"
        private_key_passphrase = "{SECRET}"
        """,
    )
    params = resolve_connection("deploy", environ=env).params
    assert params == {
        "account": "acct",
        "user": "deployer",
        "private_key_file": str(home / ".ssh" / "rsa_key.p8"),
        "private_key_file_pwd": SECRET,
        "authenticator": "SNOWFLAKE_JWT",
    }


def test_key_pair_from_generic_variables(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    key_file(home)
    env |= {
        "SNOWFLAKE_ACCOUNT": "acct",
        "SNOWFLAKE_USER": "deployer",
        "SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path / "ignored.p8"),
        "SNOWFLAKE_PRIVATE_KEY_FILE": "~/.ssh/rsa_key.p8",
        "SNOWFLAKE_AUTHENTICATOR": "snowflake_jwt",
    }
    params = resolve_connection(None, environ=env).params
    assert params["private_key_file"] == str(home / ".ssh" / "rsa_key.p8")
    assert params["authenticator"] == "SNOWFLAKE_JWT"


def test_raw_private_key_becomes_private_key(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "deployer", "SNOWFLAKE_PRIVATE_KEY_RAW": PEM}
    params = resolve_connection(None, environ=env).params
    assert params["private_key"] == PEM
    assert params["authenticator"] == "SNOWFLAKE_JWT"
    assert "private_key_raw" not in params


def test_private_key_with_another_authenticator_is_an_error(env: dict[str, str], home: Path) -> None:
    key_file(home)
    env |= {
        "SNOWFLAKE_ACCOUNT": "acct",
        "SNOWFLAKE_USER": "me",
        "SNOWFLAKE_PRIVATE_KEY_PATH": "~/.ssh/rsa_key.p8",
        "SNOWFLAKE_AUTHENTICATOR": "externalbrowser",
    }
    assert "SNOWFLAKE_JWT" in config_error(env)


def test_missing_private_key_file_is_an_error(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "me", "SNOWFLAKE_PRIVATE_KEY_FILE": "~/absent.p8"}
    assert "is not a file" in config_error(env)


def test_key_pair_authenticator_without_a_key(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "me", "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_JWT"}
    message = config_error(env)
    assert "'private_key_file' or 'private_key_path' or 'private_key_raw'" in message
    assert "SNOWFLAKE_PRIVATE_KEY_PATH" in message


def test_password_is_the_default_authenticator(env: dict[str, str], dot_snowflake: Path) -> None:
    write(dot_snowflake / "connections.toml", f'[default]\naccount = "acct"\nuser = "me"\npassword = "{SECRET}"\n')
    assert "authenticator" not in resolve_connection(None, environ=env).params


def test_external_browser_needs_user_but_no_password(env: dict[str, str]) -> None:
    env |= {
        "SNOWFLAKE_ACCOUNT": "acct",
        "SNOWFLAKE_USER": "me@example.com",
        "SNOWFLAKE_AUTHENTICATOR": "externalbrowser",
    }
    params = resolve_connection(None, environ=env).params
    assert params == {"account": "acct", "user": "me@example.com", "authenticator": "EXTERNALBROWSER"}
    del env["SNOWFLAKE_USER"]
    assert "'user'" in config_error(env)


def test_oauth_with_token_needs_no_user(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_AUTHENTICATOR": "oauth", "SNOWFLAKE_TOKEN": SECRET}
    assert resolve_connection(None, environ=env).params == {
        "account": "acct",
        "token": SECRET,
        "authenticator": "OAUTH",
    }


def test_oauth_with_token_file(env: dict[str, str], home: Path) -> None:
    write(home / "token", SECRET)
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_AUTHENTICATOR": "OAUTH", "SNOWFLAKE_TOKEN_FILE_PATH": "~/token"}
    assert resolve_connection(None, environ=env).params["token_file_path"] == str(home / "token")


def test_oauth_without_a_token_is_an_error(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_AUTHENTICATOR": "oauth"}
    message = config_error(env)
    assert "'token' or 'token_file_path'" in message
    assert "authenticator OAUTH" in message


def test_programmatic_access_token(env: dict[str, str]) -> None:
    env |= {
        "SNOWFLAKE_ACCOUNT": "acct",
        "SNOWFLAKE_USER": "svc",
        "SNOWFLAKE_AUTHENTICATOR": "programmatic_access_token",
        "SNOWFLAKE_TOKEN": SECRET,
    }
    assert resolve_connection(None, environ=env).params["authenticator"] == "PROGRAMMATIC_ACCESS_TOKEN"


def test_okta_url_authenticator_is_kept(env: dict[str, str]) -> None:
    okta = "https://example.okta.com"
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "me", "SNOWFLAKE_PASSWORD": SECRET}
    env["SNOWFLAKE_AUTHENTICATOR"] = okta
    assert resolve_connection(None, environ=env).params["authenticator"] == okta


def test_unknown_authenticator_is_an_error(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "me", "SNOWFLAKE_AUTHENTICATOR": "magic"}
    assert "unknown authenticator 'magic'" in config_error(env)


def test_missing_user_names_the_source_and_key(env: dict[str, str], dot_snowflake: Path) -> None:
    path = write(dot_snowflake / "connections.toml", f'[prod]\naccount = "acct"\npassword = "{SECRET}"\n')
    message = config_error(env, "prod")
    assert f"{path} [prod]" in message
    assert "'user'" in message
    assert "SNOWFLAKE_CONNECTIONS_PROD_USER" in message


def test_nothing_configured_names_the_generic_variables(env: dict[str, str]) -> None:
    env["SNOWFLAKE_PASSWORD"] = SECRET
    message = config_error(env)
    assert "SNOWFLAKE_* environment variables" in message
    assert "'account'" in message
    assert "SNOWFLAKE_ACCOUNT" in message
    assert "'user'" in message


def test_missing_password(env: dict[str, str]) -> None:
    env |= {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "me"}
    assert "'password'" in config_error(env)


# --- file permissions (§15.2) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
@pytest.mark.parametrize("file_name", ["connections.toml", "config.toml"])
def test_file_writable_by_group_or_others_is_an_error(
    env: dict[str, str], dot_snowflake: Path, file_name: str, mode: int
) -> None:
    prefix = "connections." if file_name == "config.toml" else ""
    write(dot_snowflake / file_name, f'[{prefix}dev]\naccount = "a"\nuser = "u"\npassword = "{SECRET}"\n', mode)
    env["SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION"] = "true"
    message = config_error(env, "dev")
    assert "writable by group or others" in message
    assert "chmod 0600" in message


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_file_readable_by_others_is_a_warning(env: dict[str, str], dot_snowflake: Path, mode: int) -> None:
    path = write(dot_snowflake / "connections.toml", '[dev]\naccount = "a"\nuser = "u"\npassword = "p"\n', mode)
    warnings = resolve_connection("dev", environ=env).warnings
    assert len(warnings) == 1
    assert str(path) in warnings[0]
    assert "chmod 0600" in warnings[0]


def test_skip_variable_silences_the_readable_warning(env: dict[str, str], dot_snowflake: Path) -> None:
    write(dot_snowflake / "connections.toml", '[dev]\naccount = "a"\nuser = "u"\npassword = "p"\n', 0o644)
    env["SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION"] = "True"
    assert resolve_connection("dev", environ=env).warnings == []


# --- redaction --------------------------------------------------------------------------------------------------


def secret_settings() -> ConnectionSettings:
    return ConnectionSettings(
        name="prod",
        source="test",
        params={
            "account": "acct",
            "user": "me",
            "password": SECRET,
            "private_key": PEM,
            "private_key_file_pwd": "passphrase-value",
            "token": "token-value",
            "passcode": "123456",
            "oauth_client_secret": "client-secret-value",
            "oauth_refresh_token": "refresh-token-value",
            "passcode_in_password": False,
            "token_file_path": "/run/token",
        },
    )


def test_redacted_masks_every_secret() -> None:
    redacted = secret_settings().redacted()
    for key in ("password", "private_key", "private_key_file_pwd", "token", "passcode", "oauth_client_secret"):
        assert redacted[key] == MASK
    assert redacted["oauth_refresh_token"] == MASK
    assert redacted["passcode_in_password"] is False
    assert redacted["token_file_path"] == "/run/token"
    assert redacted["user"] == "me"


def test_repr_and_str_are_redacted() -> None:
    settings = secret_settings()
    for text in (repr(settings), str(settings), f"{settings}", f"{[settings]}"):
        assert "acct" in text
        for secret in (SECRET, "passphrase-value", "token-value", "client-secret-value", "BEGIN PRIVATE KEY"):
            assert secret not in text


def test_scrub_masks_whole_secrets_and_key_lines() -> None:
    settings = secret_settings()
    key_line = PEM.splitlines()[1]
    scrubbed = settings.scrub(f"login failed for me with {SECRET}; bad key {key_line}; token token-value")
    assert scrubbed == f"login failed for me with {MASK}; bad key {MASK}; token {MASK}"


# --- SnowflakeSession over a fake connector ---------------------------------------------------------------------


class FakeCursor:
    def __init__(self, connection: FakeConnection, cursor_class: type) -> None:
        self.connection = connection
        self.cursor_class = cursor_class
        self.closed = False
        self.rows: list[dict[str, Any]] = []

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def execute(self, sql: str) -> None:
        with self.connection.lock:
            self.connection.statements.append(sql)
        if self.connection.fail_with is not None:
            raise self.connection.fail_with
        self.rows = [{"NAME": "ORDERS", "created_on": "2024-01-01", "Kind": "TABLE"}]

    def fetchall(self) -> list[dict[str, Any]]:
        return self.rows


class FakeConnection:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements: list[str] = []
        self.cursors: list[FakeCursor] = []
        self.fail_with: Exception | None = None
        self.closed = False

    def cursor(self, cursor_class: type) -> FakeCursor:
        cursor = FakeCursor(self, cursor_class)
        with self.lock:
            self.cursors.append(cursor)
        return cursor

    def close(self) -> None:
        self.closed = True


class FakeConnector:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.connection = FakeConnection()
        self.fail_with: Exception | None = None

    def connect(self, **kwargs: Any) -> FakeConnection:
        self.calls.append(kwargs)
        if self.fail_with is not None:
            raise self.fail_with
        return self.connection


@pytest.fixture
def connector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeConnector]:
    fake = FakeConnector()
    monkeypatch.setattr(snowflake.connector, "connect", fake.connect)
    yield fake


def password_settings() -> ConnectionSettings:
    return ConnectionSettings(
        name="prod", source="test", params={"account": "acct", "user": "me", "password": SECRET, "role": "DEPLOYER"}
    )


def test_session_connect_arguments(connector: FakeConnector, env: dict[str, str], home: Path) -> None:
    key_file(home)
    env |= {
        "SNOWFLAKE_ACCOUNT": "acct",
        "SNOWFLAKE_USER": "deployer",
        "SNOWFLAKE_PRIVATE_KEY_PATH": "~/.ssh/rsa_key.p8",
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": SECRET,
    }
    SnowflakeSession(resolve_connection(None, environ=env), query_tag="retail-etl:plan")
    assert connector.calls == [
        {
            "account": "acct",
            "user": "deployer",
            "private_key_file": str(home / ".ssh" / "rsa_key.p8"),
            "private_key_file_pwd": SECRET,
            "authenticator": "SNOWFLAKE_JWT",
            "session_parameters": {"QUERY_TAG": "retail-etl:plan", "QUOTED_IDENTIFIERS_IGNORE_CASE": False},
            "application": "retail-etl",
        }
    ]


def test_session_query_tag_wins_over_section_session_parameters(connector: FakeConnector) -> None:
    settings = password_settings()
    settings.params["session_parameters"] = {"QUERY_TAG": "other", "TIMEZONE": "UTC"}
    SnowflakeSession(settings, query_tag="retail-etl:apply")
    assert connector.calls[0]["session_parameters"] == {
        "QUERY_TAG": "retail-etl:apply",
        "TIMEZONE": "UTC",
        "QUOTED_IDENTIFIERS_IGNORE_CASE": False,
    }


def test_query_tag_length_is_checked(connector: FakeConnector) -> None:
    with pytest.raises(ValueError, match="2000"):
        SnowflakeSession(password_settings(), query_tag="x" * 2001)
    assert connector.calls == []


def test_query_lower_cases_columns_with_a_dict_cursor_per_statement(connector: FakeConnector) -> None:
    session = SnowflakeSession(password_settings(), query_tag="t")
    assert session.query("SHOW TABLES IN SCHEMA DB.RAW") == [
        {"name": "ORDERS", "created_on": "2024-01-01", "kind": "TABLE"}
    ]
    session.execute("CREATE SCHEMA IF NOT EXISTS DB.RAW")
    connection = connector.connection
    assert connection.statements == ["SHOW TABLES IN SCHEMA DB.RAW", "CREATE SCHEMA IF NOT EXISTS DB.RAW"]
    assert len(connection.cursors) == 2
    assert all(c.cursor_class is snowflake.connector.DictCursor and c.closed for c in connection.cursors)
    session.close()
    assert connection.closed


def test_session_is_shared_between_threads(connector: FakeConnector) -> None:
    session = SnowflakeSession(password_settings(), query_tag="t")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(session.query, [f"SHOW TABLES IN SCHEMA DB.S{i}" for i in range(32)]))
    assert all(rows[0]["name"] == "ORDERS" for rows in results)
    assert len({id(c) for c in connector.connection.cursors}) == 32


def test_statement_error_keeps_code_and_first_line_without_secrets(connector: FakeConnector) -> None:
    session = SnowflakeSession(password_settings(), query_tag="t")
    connector.connection.fail_with = ProgrammingError(
        msg=f"SQL compilation error: Object 'DB.RAW.ORDERS' does not exist; user me / {SECRET}",
        errno=2003,
        sqlstate="42S02",
        sfqid="01b2-query-id",
    )
    with pytest.raises(SessionError) as caught:
        session.execute("\n  ALTER TABLE DB.RAW.ORDERS\n  ADD COLUMN X NUMBER")
    message = str(caught.value)
    assert "002003 (42S02): SQL compilation error: Object 'DB.RAW.ORDERS' does not exist" in message
    assert "sfqid=01b2-query-id" in message
    assert "statement: ALTER TABLE DB.RAW.ORDERS" in message
    assert "ADD COLUMN" not in message
    assert SECRET not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_connect_error_is_a_session_error_without_secrets(connector: FakeConnector) -> None:
    connector.fail_with = DatabaseError(msg=f"Incorrect username or password was specified: {SECRET}", errno=250001)
    with pytest.raises(SessionError) as caught:
        SnowflakeSession(password_settings(), query_tag="t")
    message = str(caught.value)
    assert "250001" in message
    assert "'prod'" in message
    assert SECRET not in message


def test_connector_is_imported_lazily() -> None:
    code = (
        "import sys, retail_etl.targets.snowflake.session, retail_etl.targets.snowflake.config\n"
        "assert 'snowflake.connector' not in sys.modules, 'connector imported at module level'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
