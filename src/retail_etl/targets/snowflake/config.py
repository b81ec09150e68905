"""Resolve a Snowflake connection the way the Snowflake CLI (``snow``) does (reference §15).

The Python connector itself reads only connections.toml / ``SNOWFLAKE_CONNECTIONS`` and the default connection
name. The generic ``SNOWFLAKE_<KEY>`` variables and the per-connection ``SNOWFLAKE_CONNECTIONS_<NAME>_<KEY>``
overrides are CLI features. So the CLI's rules are implemented here, and the connector gets plain ``connect()``
keyword arguments:

- directory: ``$SNOWFLAKE_HOME`` if it exists, else ``~/.snowflake`` if it exists, else the platform config directory;
- connections: ``SNOWFLAKE_CONNECTIONS`` (a whole TOML document), else connections.toml (top-level tables), which,
  when present, hides config.toml's ``[connections.*]`` entirely;
- default name: ``"default"`` < config.toml ``default_connection_name`` < ``SNOWFLAKE_DEFAULT_CONNECTION_NAME`` <
  the explicitly requested name;
- one parameter: explicit overrides > ``SNOWFLAKE_CONNECTIONS_<NAME>_<KEY>`` > the section > ``SNOWFLAKE_<KEY>``.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MASK = "****"
DEFAULT_CONNECTION_NAME = "default"

# The CLI's spellings, and connector 5.x's name for the passphrase, mapped to the connect() keyword that every
# connector version this project supports (>= 3.12) accepts.
KEY_ALIASES: Mapping[str, str] = {
    "private_key_path": "private_key_file",
    "private_key_passphrase": "private_key_file_pwd",
    "private_key_password": "private_key_file_pwd",
    "private_key_raw": "private_key",
}

# Keys the CLI fills from generic SNOWFLAKE_<KEY> variables (reference §15.5), plus the spellings and network keys
# (PRIVATE_KEY_FILE, PRIVATE_KEY_PASSPHRASE, HOST, PORT, PROTOCOL, REGION) a CI job may set the same way.
GENERIC_ENV_KEYS: tuple[str, ...] = (
    "account",
    "user",
    "password",
    "database",
    "schema",
    "role",
    "warehouse",
    "authenticator",
    "host",
    "port",
    "protocol",
    "region",
    "private_key_file",
    "private_key_path",
    "private_key_raw",
    "private_key_passphrase",
    "token",
    "token_file_path",
    "session_token",
    "master_token",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_authorization_url",
    "oauth_token_request_url",
    "oauth_redirect_uri",
    "oauth_scope",
    "oauth_disable_pkce",
    "oauth_enable_refresh_tokens",
    "oauth_enable_single_use_refresh_tokens",
    "client_store_temporary_credential",
    "workload_identity_provider",
)

# Secret connect() keys. Key names containing a marker below (or ending in "token") count too, so a secret passed
# through under a key this list does not know (sections may carry any connector parameter) is still masked.
SECRET_KEYS = frozenset(
    {
        "password",
        "passcode",
        "private_key",
        "private_key_file_pwd",
        "token",
        "session_token",
        "master_token",
        "oauth_client_secret",
        "external_session_id",
        "proxy",
        "proxy_password",
    }
)
_SECRET_MARKERS = ("password", "passphrase", "secret", "pwd")

# Values are matched case-insensitively (reference §15.3); an https:// URL means native Okta SSO.
AUTHENTICATORS = frozenset(
    {
        "SNOWFLAKE",
        "SNOWFLAKE_PASSWORD",
        "EXTERNALBROWSER",
        "SNOWFLAKE_JWT",
        "OAUTH",
        "OAUTH_AUTHORIZATION_CODE",
        "OAUTH_CLIENT_CREDENTIALS",
        "ID_TOKEN",
        "USERNAME_PASSWORD_MFA",
        "PROGRAMMATIC_ACCESS_TOKEN",
        "NO_AUTH",
        "WORKLOAD_IDENTITY",
        "PAT_WITH_EXTERNAL_SESSION",
    }
)
KEY_PAIR = "SNOWFLAKE_JWT"
_PASSWORD_AUTHENTICATORS = frozenset({"SNOWFLAKE", "SNOWFLAKE_PASSWORD", "USERNAME_PASSWORD_MFA"})
_TOKEN_AUTHENTICATORS = frozenset({"OAUTH", "PROGRAMMATIC_ACCESS_TOKEN"})
# These identify the user by a token, an OAuth flow or a cloud identity; every other authenticator needs `user`.
_USERLESS_AUTHENTICATORS = frozenset(
    {
        "OAUTH",
        "OAUTH_AUTHORIZATION_CODE",
        "OAUTH_CLIENT_CREDENTIALS",
        "WORKLOAD_IDENTITY",
        "NO_AUTH",
        "PAT_WITH_EXTERNAL_SESSION",
    }
)

_PATH_KEYS = ("private_key_file", "token_file_path")
_SKIP_PERMISSION_CHECK_VARS = (
    "SF_SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION",
    "SKIP_TOKEN_FILE_PERMISSIONS_VERIFICATION",
)
# Shown in "missing key" messages: the spellings a user may write for a connect() key.
_SPELLINGS: Mapping[str, tuple[str, ...]] = {
    "private_key_file": ("private_key_file", "private_key_path"),
    "private_key": ("private_key_raw",),
}


class ConnectionConfigError(ValueError):
    """The connection cannot be resolved; the message names the source and keys, never a secret value."""


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SECRET_KEYS or lowered.endswith("token") or any(m in lowered for m in _SECRET_MARKERS)


def _is_secret(key: str, value: Any) -> bool:
    # A boolean under a secret-looking name (passcode_in_password) is a switch, not a credential.
    return is_secret_key(key) and value is not None and not isinstance(value, bool)


@dataclass(frozen=True, repr=False)
class ConnectionSettings:
    """A resolved connection: ``params`` are ``snowflake.connector.connect()`` keyword arguments."""

    name: str
    source: str
    params: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def redacted(self) -> dict[str, Any]:
        return {key: MASK if _is_secret(key, value) else value for key, value in self.params.items()}

    def scrub(self, text: str) -> str:
        """Mask every secret value of these settings that occurs in ``text`` (e.g. a driver error message)."""
        for secret in self._secret_texts():
            text = text.replace(secret, MASK)
        return text

    def _secret_texts(self) -> list[str]:
        texts: set[str] = set()
        for key, value in self.params.items():
            if not _is_secret(key, value):
                continue
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            texts.add(text)
            # A message may quote one line of a PEM key rather than the whole block.
            texts.update(line.strip() for line in text.splitlines() if len(line.strip()) >= 16)
        texts.discard("")
        # Longest first, so a secret containing another one is masked whole.
        return sorted(texts, key=len, reverse=True)

    def __repr__(self) -> str:
        return (
            f"ConnectionSettings(name={self.name!r}, source={self.source!r}, "
            f"params={self.redacted()!r}, warnings={self.warnings!r})"
        )


def config_dir(environ: Mapping[str, str], *, platform: str = sys.platform) -> Path:
    """The directory holding connections.toml and config.toml (reference §15.1)."""
    home = _home(environ, platform)
    snowflake_home = environ.get("SNOWFLAKE_HOME", "")
    if snowflake_home:
        candidate = Path(_expand_user(snowflake_home, home))
        if candidate.is_dir():
            return candidate
    dot_snowflake = home / ".snowflake"
    if dot_snowflake.is_dir():
        return dot_snowflake
    if platform == "darwin":
        return home / "Library" / "Application Support" / "snowflake"
    if platform == "win32":
        return home / "AppData" / "Local" / "snowflake"
    xdg_config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg_config_home) if xdg_config_home else home / ".config") / "snowflake"


def resolve_connection(
    name: str | None,
    *,
    environ: Mapping[str, str],
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ConnectionSettings:
    """Resolve connection ``name`` (None: the default connection) into connect() arguments, as ``snow`` would.

    ``config_file`` replaces config.toml (the CLI's ``--config-file``); like the CLI, connections.toml is still
    looked up in :func:`config_dir`. ``overrides`` are explicit values (CLI flags); None values are ignored.
    """
    home = _home(environ, sys.platform)
    directory = config_dir(environ)
    warnings: list[str] = []

    config_path = config_file if config_file is not None else directory / "config.toml"
    if config_file is not None and not config_file.is_file():
        raise ConnectionConfigError(f"config file {config_file} does not exist")
    config_doc = _read_toml(config_path, environ, warnings) if config_path.is_file() else {}

    sections, where, prefix = _load_connections(environ, directory, config_path, config_doc, warnings)
    chosen, origin = _choose_name(name, environ, config_doc, config_path)

    section = sections.get(chosen)
    if section is None:
        if origin is not None:
            defined = ", ".join(sorted(k for k, v in sections.items() if isinstance(v, dict)))
            known = f"; defined connections: {defined}" if defined else ""
            raise ConnectionConfigError(f"connection {chosen!r} ({origin}) is not defined in {where}{known}")
        # Nothing was asked for by name and there is no [default] section: the connection comes from the generic
        # SNOWFLAKE_* variables alone, which is how CI configures it.
        section, source = {}, f"SNOWFLAKE_* environment variables (no [{prefix}{chosen}] section in {where})"
    elif not isinstance(section, dict):
        raise ConnectionConfigError(f"[{prefix}{chosen}] in {where} must be a table of connection parameters")
    else:
        source = f"{where} [{prefix}{chosen}]"

    params: dict[str, Any] = {}
    for layer in (
        _generic_env(environ),
        section,
        _connection_env(chosen, environ, sections),
        overrides or {},
    ):
        params.update(_normalize(layer))

    _finish_auth(chosen, source, params, home)
    return ConnectionSettings(name=chosen, source=source, params=params, warnings=warnings)


def _home(environ: Mapping[str, str], platform: str) -> Path:
    value = environ.get("USERPROFILE" if platform == "win32" else "HOME", "")
    return Path(value) if value else Path.home()


def _expand_user(value: str, home: Path) -> str:
    # The home directory comes from the environ mapping the caller passed, not from the process environment.
    if value == "~":
        return str(home)
    if value.startswith(("~/", "~" + os.sep)):
        return str(home / value[2:])
    return os.path.expanduser(value)


def _read_toml(path: Path, environ: Mapping[str, str], warnings: list[str]) -> dict[str, Any]:
    _check_permissions(path, environ, warnings)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    # tomllib's messages give a position, never the offending text, so they cannot leak a value.
    except tomllib.TOMLDecodeError as exc:
        raise ConnectionConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConnectionConfigError(f"cannot read {path}: {exc.strerror}") from None


def _check_permissions(path: Path, environ: Mapping[str, str], warnings: list[str]) -> None:
    # Windows has no POSIX mode bits; the CLI checks ACLs there instead, which this tool does not.
    if os.name == "nt":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        # Always an error for the CLI (reference §15.2): whoever can edit the file can redirect the credentials.
        raise ConnectionConfigError(f"{path} is writable by group or others (mode {mode:04o}); run `chmod 0600 {path}`")
    skip = any(environ.get(var, "").lower() == "true" for var in _SKIP_PERMISSION_CHECK_VARS)
    if mode & (stat.S_IRGRP | stat.S_IROTH) and not skip:
        warnings.append(f"{path} is readable by group or others (mode {mode:04o}); run `chmod 0600 {path}`")


def _load_connections(
    environ: Mapping[str, str],
    directory: Path,
    config_path: Path,
    config_doc: Mapping[str, Any],
    warnings: list[str],
) -> tuple[dict[str, Any], str, str]:
    """The connection sections, where they come from, and the table prefix they are written with."""
    document = environ.get("SNOWFLAKE_CONNECTIONS", "")
    if document:
        try:
            return tomllib.loads(document), "SNOWFLAKE_CONNECTIONS", ""
        except tomllib.TOMLDecodeError as exc:
            raise ConnectionConfigError(f"SNOWFLAKE_CONNECTIONS is not a valid TOML document: {exc}") from None
    connections_path = directory / "connections.toml"
    if connections_path.is_file():
        return _read_toml(connections_path, environ, warnings), str(connections_path), ""
    sections = config_doc.get("connections", {})
    if not isinstance(sections, dict):
        raise ConnectionConfigError(f"[connections] in {config_path} must be a table")
    if config_path.is_file():
        return sections, str(config_path), "connections."
    return sections, f"{connections_path} or {config_path}", ""


def _choose_name(
    name: str | None, environ: Mapping[str, str], config_doc: Mapping[str, Any], config_path: Path
) -> tuple[str, str | None]:
    """The connection name, and where it was asked for (None for the implicit "default")."""
    if name:
        return name, "requested explicitly"
    from_env = environ.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "")
    if from_env:
        return from_env, "from SNOWFLAKE_DEFAULT_CONNECTION_NAME"
    from_config = config_doc.get("default_connection_name")
    if from_config is not None:
        if not isinstance(from_config, str) or not from_config:
            raise ConnectionConfigError(f"default_connection_name in {config_path} must be a non-empty string")
        return from_config, f"default_connection_name in {config_path}"
    return DEFAULT_CONNECTION_NAME, None


def _generic_env(environ: Mapping[str, str]) -> dict[str, str]:
    # Empty values count as unset, as in the CLI: an exported-but-empty variable must not blank a file value.
    return {key: value for key in GENERIC_ENV_KEYS if (value := environ.get(f"SNOWFLAKE_{key.upper()}", ""))}


def _connection_env(name: str, environ: Mapping[str, str], sections: Mapping[str, Any]) -> dict[str, str]:
    prefix = f"SNOWFLAKE_CONNECTIONS_{name.upper()}_"
    # With connections "dev" and "dev_ci", SNOWFLAKE_CONNECTIONS_DEV_CI_USER belongs to dev_ci, not to dev as a
    # key "ci_user" (the CLI's plain prefix match gets this wrong).
    longer = tuple(
        other_prefix
        for other in sections
        if other != name and (other_prefix := f"SNOWFLAKE_CONNECTIONS_{other.upper()}_").startswith(prefix)
    )
    return {
        var[len(prefix) :].lower(): value
        for var, value in environ.items()
        if var.startswith(prefix) and value and not var.startswith(longer)
    }


def _normalize(layer: Mapping[str, Any]) -> dict[str, Any]:
    """Lower-case keys and map the CLI's spellings; within one layer the connector's own spelling wins."""
    result: dict[str, Any] = {}
    for key, value in layer.items():
        lowered = key.lower()
        canonical = KEY_ALIASES.get(lowered, lowered)
        if value is None or (canonical in result and lowered != canonical):
            continue
        result[canonical] = value
    return result


def _finish_auth(name: str, source: str, params: dict[str, Any], home: Path) -> None:
    """Normalize the authenticator, infer key-pair auth, check the keys it needs and the files it reads."""
    where = f"Snowflake connection {name!r} from {source}"
    raw = params.pop("authenticator", None)
    if raw is not None and not isinstance(raw, str):
        raise ConnectionConfigError(f"{where}: authenticator must be a string")
    authenticator = (raw or "").strip()
    if authenticator:
        if authenticator.upper() in AUTHENTICATORS:
            authenticator = authenticator.upper()
        elif not authenticator.lower().startswith("https://"):
            raise ConnectionConfigError(
                f"{where}: unknown authenticator {authenticator!r}; expected one of "
                f"{', '.join(sorted(AUTHENTICATORS))} or an https:// Okta URL"
            )

    if _present(params, "private_key_file") or _present(params, "private_key"):
        if not authenticator:
            # A private key means key-pair auth, as in the connector.
            authenticator = KEY_PAIR
        elif authenticator != KEY_PAIR:
            raise ConnectionConfigError(
                f"{where}: a private key is configured (private_key_file, private_key_path or private_key_raw, "
                f"in the section or a SNOWFLAKE_* variable) but the authenticator is {authenticator}; "
                f"key-pair authentication needs {KEY_PAIR}"
            )
    if authenticator:
        params["authenticator"] = authenticator

    missing = [
        alternatives
        for alternatives in _required_keys(authenticator or "SNOWFLAKE")
        if not any(_present(params, key) for key in alternatives)
    ]
    if missing:
        described = "; ".join(_describe(alternatives, name) for alternatives in missing)
        raise ConnectionConfigError(f"{where} (authenticator {authenticator or 'SNOWFLAKE'}) is missing {described}")

    for key in _PATH_KEYS:
        value = params.get(key)
        if isinstance(value, str | Path):
            params[key] = _expand_user(str(value), home)
            if not Path(params[key]).is_file():
                raise ConnectionConfigError(f"{where}: {key} {params[key]!r} is not a file")


def _required_keys(authenticator: str) -> list[tuple[str, ...]]:
    required: list[tuple[str, ...]] = [("account",)]
    if authenticator not in _USERLESS_AUTHENTICATORS:
        required.append(("user",))
    if authenticator in _PASSWORD_AUTHENTICATORS or authenticator.lower().startswith("https://"):
        required.append(("password",))
    elif authenticator == KEY_PAIR:
        required.append(("private_key_file", "private_key"))
    elif authenticator in _TOKEN_AUTHENTICATORS:
        required.append(("token", "token_file_path"))
    elif authenticator == "WORKLOAD_IDENTITY":
        required.append(("workload_identity_provider",))
    return required


def _present(params: Mapping[str, Any], key: str) -> bool:
    return params.get(key) not in (None, "")


def _describe(alternatives: tuple[str, ...], name: str) -> str:
    spellings = [spelling for key in alternatives for spelling in _SPELLINGS.get(key, (key,))]
    variables = [
        variable
        for spelling in spellings
        for variable in (f"SNOWFLAKE_CONNECTIONS_{name.upper()}_{spelling.upper()}", f"SNOWFLAKE_{spelling.upper()}")
    ]
    return f"{' or '.join(repr(s) for s in spellings)} (set it in the section or via {', '.join(variables)})"
