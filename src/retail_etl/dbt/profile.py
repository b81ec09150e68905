"""The dbt profile and ``--vars`` of a retail-etl target: one configuration for retail-etl and dbt.

Pure: the project, the target and (for a Snowflake target) the resolved connection in, documents out. Secrets are
never part of the document: it references them as ``{{ env_var('DBT_ENV_SECRET_...') }}`` — dbt scrubs the values
of ``DBT_ENV_SECRET_*`` variables from its logs — and :class:`DbtProfile` carries them separately, for the runner
to put into the environment of the dbt invocation only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from retail_etl.identifiers import Identifier
from retail_etl.local.warehouse import DEFAULT_TIMEZONE, database_file
from retail_etl.spec.models import LocalTargetSpec
from retail_etl.targets.snowflake.config import KEY_PAIR, ConnectionSettings
from retail_etl.workflow import Project, query_tag

PROFILE_NAME = "retail_etl"
SECRET_PREFIX = "DBT_ENV_SECRET_RETAIL_ETL_"
# DuckDB spreads each query over every core, but dbt spends Python time per node (153 of them in the shipped
# project) and DuckDB releases the GIL while it works: 4 threads overlap the two, measured 6 % faster than 2 and
# 26 % faster than 1 for `dbt build` on 1M sales lines on a 2-core machine.
LOCAL_THREADS = 4
# On Snowflake the warehouse does the work and dbt's threads only wait for it: as many as apply's parallelism.
SNOWFLAKE_THREADS = 8

# The connector's authenticator (as retail-etl normalizes it) -> dbt-snowflake's spelling; None: dbt's default,
# which covers password and key-pair authentication (dbt passes the private key and the connector uses it).
_AUTHENTICATORS: Mapping[str, str | None] = {
    "SNOWFLAKE": None,
    "SNOWFLAKE_PASSWORD": None,
    KEY_PAIR: None,
    "EXTERNALBROWSER": "externalbrowser",
    "USERNAME_PASSWORD_MFA": "username_password_mfa",
    "OAUTH": "oauth",
    "PROGRAMMATIC_ACCESS_TOKEN": "programmatic_access_token",
    "WORKLOAD_IDENTITY": "workload_identity",
}
# connect() keyword -> dbt-snowflake profile key. Connector parameters with no profile key (region, session
# parameters, ...) are not carried over.
_PLAIN_KEYS: Mapping[str, str] = {
    "account": "account",
    "user": "user",
    "host": "host",
    "port": "port",
    "protocol": "protocol",
    "private_key_file": "private_key_path",
    "oauth_client_id": "oauth_client_id",
    "workload_identity_provider": "workload_identity_provider",
}
_SECRET_KEYS: Mapping[str, str] = {
    "password": "password",
    "private_key": "private_key",
    "private_key_file_pwd": "private_key_passphrase",
    "token": "token",
    "oauth_client_secret": "oauth_client_secret",
}
# dbt renders every profile value as Jinja: a plain value holding these would be evaluated, not used as written.
_JINJA = re.compile(r"\{[{%#]|[#}%]\}")


class ProfileError(ValueError):
    """The target cannot be described as a dbt profile (message safe to print: names keys, never values)."""


@dataclass(frozen=True)
class DbtProfile:
    """A profiles.yml document and what the dbt invocation needs in its environment to render it."""

    target: str
    document: dict[str, Any]
    # DBT_ENV_SECRET_* variable -> value.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    # DBT_ENV_SECRET_* variable -> file holding the value (a token file), read only when dbt runs.
    secret_files: dict[str, Path] = field(default_factory=dict)

    def yaml(self) -> str:
        """profiles.yml, secrets as env_var references; a header names the variables dbt will need."""
        header = "".join(
            f"# export {variable}: the Snowflake {key} (retail-etl dbt sets it while dbt runs)\n"
            for variable, key in sorted(self.secret_variables().items())
        )
        return header + yaml.safe_dump(self.document, sort_keys=False)

    def secret_variables(self) -> dict[str, str]:
        """DBT_ENV_SECRET_* variable -> the profile key it fills."""
        return {
            variable: variable.removeprefix(SECRET_PREFIX).lower() for variable in (*self.secrets, *self.secret_files)
        }


def dbt_vars(project: Project) -> dict[str, str]:
    """The ``--vars`` the dbt project reads its sources from: environment overlays apply (``--env dev`` gives the
    dev database), so the dbt project follows retail-etl's environments."""
    schemas = project.loaded.project.schemas
    return {
        "retail_database": project.desired.database.stored,
        "bronze_schema": Identifier.parse(schemas.bronze).stored,
        "silver_schema": Identifier.parse(schemas.silver).stored,
        "gold_schema": Identifier.parse(schemas.gold).stored,
    }


def build_profile(project: Project, target: str, connection: ConnectionSettings | None = None) -> DbtProfile:
    """The profile of ``target`` (its dbt target has the same name); a Snowflake target needs its resolved
    ``connection`` (connections.toml and SNOWFLAKE_* variables, as the Snowflake session resolves it)."""
    spec = project.loaded.project.targets[target]
    database = project.desired.database.stored
    schema = Identifier.parse(project.loaded.project.schemas.gold).stored
    if isinstance(spec, LocalTargetSpec):
        return _profile(target, _local_output(project.loaded.project_dir / spec.path, database, schema), {}, {})
    if connection is None:
        raise ProfileError(f"target {target!r} is a Snowflake account: its profile needs the resolved connection")
    return _snowflake_profile(project, target, connection, database, schema)


def _profile(target: str, output: dict[str, Any], secrets: dict[str, str], files: dict[str, Path]) -> DbtProfile:
    document = {PROFILE_NAME: {"target": target, "outputs": {target: output}}}
    return DbtProfile(target=target, document=document, secrets=secrets, secret_files=files)


def _local_output(root: Path, database: str, schema: str) -> dict[str, Any]:
    path = database_file(root.resolve(), database)
    if path.stem != database:
        # dbt-duckdb names the database after the file; the local warehouse attaches it under the database's name.
        raise ProfileError(f"dbt-duckdb cannot use database {database!r}: its file name ({path.name}) differs from it")
    return {
        "type": "duckdb",
        "path": _plain("path", str(path)),
        "database": database,
        "schema": schema,
        "threads": LOCAL_THREADS,
        # The local runtime's session time zone (Snowflake's default): CURRENT_TIMESTAMP means the same in dbt.
        "settings": {"TimeZone": DEFAULT_TIMEZONE},
        # dbt-duckdb keeps its DuckDB instance for the next invocation by default, holding the file after dbt is
        # done: the local runtime, in this process, could then not open it again.
        "keep_open": False,
    }


def _snowflake_profile(
    project: Project, target: str, connection: ConnectionSettings, database: str, schema: str
) -> DbtProfile:
    params = connection.params
    where = f"Snowflake connection {connection.name!r} from {connection.source}"
    output: dict[str, Any] = {"type": "snowflake"}
    for key, profile_key in _PLAIN_KEYS.items():
        if _present(params, key):
            output[profile_key] = _plain(profile_key, params[key])
    if "port" in output:
        # A SNOWFLAKE_PORT variable arrives as text; dbt-snowflake wants a number.
        try:
            output["port"] = int(output["port"])
        except ValueError:
            raise ProfileError(f"{where}: port {output['port']!r} is not a number") from None
    authenticator = params.get("authenticator")
    if isinstance(authenticator, str):
        if authenticator.lower().startswith("https://"):
            output["authenticator"] = _plain("authenticator", authenticator)  # native Okta SSO
        elif authenticator not in _AUTHENTICATORS:
            raise ProfileError(f"{where}: dbt-snowflake has no equivalent of authenticator {authenticator}")
        elif (spelling := _AUTHENTICATORS[authenticator]) is not None:
            output["authenticator"] = spelling
    # The role comes from the connection with the target's `role` applied (as the session resolves it); the
    # warehouse is the connection's, else the project's (environment overlay applied).
    if _present(params, "role"):
        output["role"] = _plain("role", params["role"])
    overlay_warehouse = project.loaded.overlay.warehouse or project.loaded.project.warehouse
    output["warehouse"] = _plain("warehouse", params.get("warehouse") or Identifier.parse(overlay_warehouse).stored)
    output.update(database=database, schema=schema, threads=SNOWFLAKE_THREADS)
    # dbt's statements carry the same query tag as retail-etl's own, with command "dbt".
    output["query_tag"] = _plain("query_tag", query_tag(project, "dbt"))

    secrets: dict[str, str] = {}
    files: dict[str, Path] = {}
    for key, profile_key in _SECRET_KEYS.items():
        if _present(params, key):
            value = params[key]
            secrets[_reference(output, profile_key)] = value.decode() if isinstance(value, bytes) else str(value)
    if _present(params, "token_file_path") and not _present(params, "token"):
        # The connector reads the token from this file; dbt-snowflake only takes the token itself.
        files[_reference(output, "token")] = Path(params["token_file_path"])
    return _profile(target, output, secrets, files)


def _reference(output: dict[str, Any], profile_key: str) -> str:
    """Point ``profile_key`` of ``output`` at its secret variable; return the variable's name."""
    variable = f"{SECRET_PREFIX}{profile_key.upper()}"
    output[profile_key] = f"{{{{ env_var('{variable}') }}}}"
    return variable


def _present(params: Mapping[str, Any], key: str) -> bool:
    return params.get(key) not in (None, "")


def _plain(key: str, value: Any) -> Any:
    if isinstance(value, str) and _JINJA.search(value):
        raise ProfileError(f"the {key} of the dbt profile contains Jinja delimiters ({{{{, {{%, {{#, }}}}, ...)")
    return value
