"""The pack's settings: the environment users already know (``POWERSHELL_SCRIPT_PATH``) plus an
optional TOML file for what does not fit in variables (per-function safety, include/exclude, remote).

Credentials for the remote host come from the environment only and are never logged or shown.
"""

from __future__ import annotations

import contextvars
import os
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from sentinelkit import KitError, PackSettings

DEFAULT_TIMEOUT = 300.0
DEFAULT_POOL = 2
CONFIG_ENV = "SENTINELKIT_POWERSHELL_CONFIG"
SAFETY_VALUES = ("read_only", "additive", "destructive")


class PowerShellConfigError(KitError):
    """The pack's configuration is wrong; the message names the setting and what to do."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RemoteSettings(_Strict):
    """A Windows host reached over WinRM (pypsrp). Username and password come from the environment."""

    host: str
    port: int | None = None
    ssl: bool = True
    auth: Literal["negotiate", "ntlm", "kerberos", "credssp", "basic", "certificate"] = "negotiate"
    cert_validation: bool | str = True  # False only for lab hosts; a path = CA bundle
    configuration_name: str = "Microsoft.PowerShell"  # "PowerShell.7" for pwsh 7 endpoints
    username: str | None = None
    password: SecretStr | None = Field(default=None, repr=False)
    operation_timeout: int = 20
    read_timeout: int = 30


class PowerShellSettings(PackSettings):
    """``[packs.powershell]`` of sentinelkit.toml; the environment variables below win over it (see the
    pack's README), and the older ``SENTINELKIT_POWERSHELL_CONFIG`` file is read below it."""

    scripts: list[Path] = []
    executable: str = "pwsh"
    host_command: list[str] | None = None  # replaces [pwsh, -NoProfile, -NonInteractive, -File, host.ps1]
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    start_timeout: float = Field(default=120.0, gt=0)
    pool_size: int = Field(default=DEFAULT_POOL, ge=1, le=16)
    retries: int = Field(default=3, ge=0, le=10)
    backoff: float = Field(default=1.0, ge=0)  # 1 s → 2 s → 4 s
    max_output_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    output_budget: int = Field(default=24_000, ge=1000)  # characters of JSON returned to the model
    json_depth: int = Field(default=8, ge=1, le=100)
    load: Literal["script", "functions"] = "script"
    include: list[str] = ["*"]
    exclude: list[str] = []
    safety: dict[str, Literal["read_only", "additive", "destructive"]] = {}
    unknown_verbs: Literal["read_only", "additive", "destructive", "exclude"] = "destructive"
    working_directory: Path | None = None
    remote: RemoteSettings | None = None
    config_file: Path | None = None

    @field_validator("safety", mode="before")
    @classmethod
    def _safety(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: str(v).lower().replace("-", "_") for k, v in value.items()}
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment over ``[packs.powershell]`` (the init arguments) over the legacy file."""
        return (_Layer(settings_cls, lambda: environment_values(_environ())), _Checked(init_settings),
                _Layer(settings_cls, lambda: legacy_file_values(_environ())))

    def command(self) -> list[str]:
        """The host process command line, without the per-script arguments."""
        if self.host_command:
            return list(self.host_command)
        from .hostscript import host_script_path

        return [self.executable, "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                "-File", str(host_script_path())]


class _Layer(PydanticBaseSettingsSource):
    """One layer of settings computed by a function (the environment, the legacy file)."""

    def __init__(self, settings_cls: type[BaseSettings], values: Any) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, Any] = values()

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class _Checked(PydanticBaseSettingsSource):
    """``[packs.powershell]``, refusing remote credentials written in the file (a TOML table arrives as a
    mapping; a ``RemoteSettings`` given in code is not a file)."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self._inner = inner

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = self._inner()
        refuse_credentials(values, "[packs.powershell]")
        return values


def _split_paths(value: str) -> list[Path]:
    """Several scripts: separated by the platform's path separator, ``;`` or new lines."""
    import re

    separators = "[\n;" + ("" if os.pathsep == ";" else re.escape(os.pathsep)) + "]"
    return [Path(p.strip()).expanduser() for p in re.split(separators, value) if p.strip()]


def _env_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise PowerShellConfigError(f"environment variable {name}={value!r} is not a boolean; use true or false")


def legacy_file_values(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``[powershell]`` table of the file named by ``SENTINELKIT_POWERSHELL_CONFIG`` (the pack's own file
    before ``[packs.powershell]`` of sentinelkit.toml existed; still read, below that table)."""
    path_text = env.get(CONFIG_ENV, "").strip()
    if not path_text:
        return {}
    path = Path(path_text).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PowerShellConfigError(f"{CONFIG_ENV}={path} does not exist; create it or unset the variable") from None
    except tomllib.TOMLDecodeError as exc:
        raise PowerShellConfigError(f"{path}: not valid TOML ({exc})") from None
    data = dict(data.get("powershell", data))
    refuse_credentials(data, str(path))
    base = path.parent
    data["scripts"] = [str(p if Path(p).is_absolute() else base / p) for p in _as_list(data.get("scripts", []))]
    data["config_file"] = str(path)
    return data


def environment_values(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment gives (the variables users of SentinelManager.ps1 already set)."""
    data: dict[str, Any] = {}
    if env.get("POWERSHELL_SCRIPT_PATH"):
        data["scripts"] = [str(p) for p in _split_paths(env["POWERSHELL_SCRIPT_PATH"])]
    simple = {
        "SENTINELKIT_POWERSHELL_EXECUTABLE": "executable",
        "POWERSHELL_EXECUTABLE": "executable",
        "SENTINELKIT_POWERSHELL_TIMEOUT": "timeout",
        "SENTINELKIT_POWERSHELL_POOL_SIZE": "pool_size",
        "SENTINELKIT_POWERSHELL_LOAD": "load",
    }
    for name, key in simple.items():
        if env.get(name):
            data[key] = env[name]
    if env.get("SENTINELKIT_POWERSHELL_HOST_COMMAND"):
        data["host_command"] = shlex.split(env["SENTINELKIT_POWERSHELL_HOST_COMMAND"])
    remote: dict[str, Any] = {}
    for name, key in (("SENTINELKIT_POWERSHELL_REMOTE_HOST", "host"), ("SENTINELKIT_POWERSHELL_REMOTE_AUTH", "auth"),
                      ("SENTINELKIT_POWERSHELL_REMOTE_PORT", "port"),
                      ("SENTINELKIT_POWERSHELL_REMOTE_CONFIGURATION", "configuration_name"),
                      ("SENTINELKIT_POWERSHELL_REMOTE_USERNAME", "username"),
                      ("SENTINELKIT_POWERSHELL_REMOTE_PASSWORD", "password")):
        if env.get(name):
            remote[key] = env[name]
    if env.get("SENTINELKIT_POWERSHELL_REMOTE_SSL"):
        remote["ssl"] = _env_bool("SENTINELKIT_POWERSHELL_REMOTE_SSL", env["SENTINELKIT_POWERSHELL_REMOTE_SSL"])
    if remote:
        data["remote"] = remote
    return data


def refuse_credentials(layer: Mapping[str, Any], where: str) -> None:
    """Remote credentials come from the environment only: never from a file."""
    remote = layer.get("remote")
    if isinstance(remote, Mapping) and ("username" in remote or "password" in remote):
        raise PowerShellConfigError(
            f"remote credentials must not be written in the configuration file ({where}): set "
            "SENTINELKIT_POWERSHELL_REMOTE_USERNAME and SENTINELKIT_POWERSHELL_REMOTE_PASSWORD in the environment")


#: the environment the settings sources read (``os.environ`` unless ``load_powershell_settings`` was given one)
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("powershell_environ", default=None)


def _environ() -> Mapping[str, str]:
    given = _ENVIRON.get()
    return os.environ if given is None else given


def load_powershell_settings(environ: Mapping[str, str] | None = None,
                             table: Mapping[str, Any] | None = None) -> PowerShellSettings:
    """The pack's settings: the environment over ``[packs.powershell]`` (``table``) over the legacy
    ``SENTINELKIT_POWERSHELL_CONFIG`` file over the defaults (what the core does, with an explicit
    environment: for tests and tools)."""
    token = _ENVIRON.set(os.environ if environ is None else environ)
    try:
        return PowerShellSettings(**dict(table or {}))
    except ValidationError as exc:
        where = legacy_file_values(_environ()).get("config_file") or "[packs.powershell] or the environment"
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise PowerShellConfigError(f"invalid PowerShell settings ({where}): {problems}") from None
    finally:
        _ENVIRON.reset(token)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
