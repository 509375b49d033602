"""Settings: the environment users already know, plus an optional ``sentinelkit.toml``.

Two layers, merged: ``EnvSettings`` (pydantic-settings, from the environment) and ``FileConfig``
(the TOML file, strict so that a typo is reported instead of ignored). The environment wins over
the file for the keys both define. Every error names the key and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
DEFAULT_LOGS_ENDPOINT = "https://api.loganalytics.io"
CONFIG_FILE_NAME = "sentinelkit.toml"


class ConfigError(Exception):
    """A configuration problem; the message names the key, the file and what to do."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantConfig(_Strict):
    """A tenant the server signs in to with its own credential (or the default app, re-targeted)."""

    tenant_id: str
    name: str = ""
    credential: Literal["secret", "certificate", "default", "environment", "auto"] = "auto"
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    client_secret_env: str | None = None
    certificate_path: Path | None = None
    certificate_password: str | None = Field(default=None, repr=False)


class WorkspaceConfig(_Strict):
    """A workspace named in the file: its ARM id, an optional alias, and the tenant it is reached from."""

    id: str
    alias: str | None = None
    tenant: str | None = None
    customer_id: str | None = None

    @field_validator("id")
    @classmethod
    def _arm_id(cls, value: str) -> str:
        parts = value.strip("/").split("/")
        if len(parts) != 8 or parts[0].lower() != "subscriptions" or parts[6].lower() != "workspaces":
            raise ValueError(
                "must be a full ARM id: /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                "Microsoft.OperationalInsights/workspaces/<name>"
            )
        return "/" + "/".join(parts)


class PacksConfig(_Strict):
    enable: list[str] | None = None
    disable: list[str] = []


class RetryConfig(_Strict):
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_factor: float = Field(default=0.8, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    retry_after_cap: float = Field(default=30.0, ge=0)
    timeout: float = Field(default=60.0, gt=0)


class HttpConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 8000
    allow_remote: bool = False
    # extra names clients reach the server by (Host / Origin), e.g. ["mcp.example.com:443"]
    allowed_hosts: list[str] = []
    auth: Literal["token", "entra"] = "token"
    auth_token_env: str | None = "SENTINELKIT_HTTP_TOKEN"
    entra_tenant_id: str | None = None
    entra_client_id: str | None = None
    entra_required_scopes: list[str] = []


class FileConfig(_Strict):
    """The shape of ``sentinelkit.toml``."""

    server_name: str | None = None
    read_only: bool | None = None
    audit_log: Path | None = None
    cache_ttl: float | None = Field(default=None, ge=0)
    arm_endpoint: str | None = None
    logs_endpoint: str | None = None
    ca_bundle: Path | None = None
    authority_host: str | None = None
    discover: bool = True
    concurrency: int = Field(default=8, ge=1, le=64)
    tenants: dict[str, TenantConfig] = {}
    workspaces: list[WorkspaceConfig] = []
    packs: PacksConfig = PacksConfig()
    retry: RetryConfig = RetryConfig()
    http: HttpConfig = HttpConfig()


class EnvSettings(BaseSettings):
    """Environment variables: the azure-identity ones, the ones users know, and ``SENTINELKIT_*``."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=False)

    azure_tenant_id: str | None = Field(default=None, validation_alias="AZURE_TENANT_ID")
    azure_client_id: str | None = Field(default=None, validation_alias="AZURE_CLIENT_ID")
    azure_client_secret: str | None = Field(default=None, validation_alias="AZURE_CLIENT_SECRET", repr=False)
    azure_client_certificate_path: Path | None = Field(default=None, validation_alias="AZURE_CLIENT_CERTIFICATE_PATH")
    azure_authority_host: str | None = Field(default=None, validation_alias="AZURE_AUTHORITY_HOST")
    server_name: str | None = Field(default=None, validation_alias="MCP_SERVER_NAME")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    debug_mode: bool = Field(default=False, validation_alias="DEBUG_MODE")
    config_path: Path | None = Field(default=None, validation_alias="SENTINELKIT_CONFIG")
    read_only: bool | None = Field(default=None, validation_alias="SENTINELKIT_READ_ONLY")
    audit_log: Path | None = Field(default=None, validation_alias="SENTINELKIT_AUDIT_LOG")
    cache_ttl: float | None = Field(default=None, validation_alias="SENTINELKIT_CACHE_TTL", ge=0)
    arm_endpoint: str | None = Field(default=None, validation_alias="SENTINELKIT_ARM_ENDPOINT")
    logs_endpoint: str | None = Field(default=None, validation_alias="SENTINELKIT_LOGS_ENDPOINT")
    ca_bundle: Path | None = Field(default=None, validation_alias="SENTINELKIT_CA_BUNDLE")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value


class Settings(BaseModel):
    """Everything the server needs, merged from the environment and the file."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    server_name: str = "sentinelkit"
    log_level: str = "INFO"
    debug: bool = False
    read_only: bool = False
    audit_log: Path | None = None
    cache_ttl: float = 300.0
    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    logs_endpoint: str = DEFAULT_LOGS_ENDPOINT
    ca_bundle: Path | None = None
    authority_host: str | None = None
    discover: bool = True
    concurrency: int = 8
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: str | None = Field(default=None, repr=False)
    azure_client_certificate_path: Path | None = None
    tenants: dict[str, TenantConfig] = {}
    workspaces: list[WorkspaceConfig] = []
    packs: PacksConfig = PacksConfig()
    retry: RetryConfig = RetryConfig()
    http: HttpConfig = HttpConfig()
    config_file: Path | None = None

    @property
    def arm_scope(self) -> str:
        """The token scope for ARM: the public cloud's audience unless a sovereign endpoint is set."""
        if self.arm_endpoint.rstrip("/") == DEFAULT_ARM_ENDPOINT or _is_local(self.arm_endpoint):
            return "https://management.azure.com/.default"
        return self.arm_endpoint.rstrip("/") + "/.default"

    @property
    def logs_scope(self) -> str:
        if self.logs_endpoint.rstrip("/") == DEFAULT_LOGS_ENDPOINT or _is_local(self.logs_endpoint):
            return "https://api.loganalytics.io/.default"
        return self.logs_endpoint.rstrip("/") + "/.default"

    def pack_enabled(self, name: str) -> bool:
        if name in self.packs.disable:
            return False
        return self.packs.enable is None or name in self.packs.enable or name == "core"


def default_audit_log() -> Path:
    """``$XDG_STATE_HOME/sentinelkit/audit.jsonl`` (``~/.local/state/...``): writes are always audited."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sentinelkit" / "audit.jsonl"


def _is_local(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return host in {"127.0.0.1", "localhost", "::1"}


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    return f"{loc}: {error['msg']}"


def find_config_file(explicit: Path | None) -> Path | None:
    """``SENTINELKIT_CONFIG`` (or ``--config``), else ``./sentinelkit.toml`` if present."""
    if explicit is not None:
        if not explicit.exists():
            raise ConfigError(
                f"configuration file {explicit} does not exist (from SENTINELKIT_CONFIG or --config); "
                "create it or unset the variable"
            )
        return explicit
    local = Path.cwd() / CONFIG_FILE_NAME
    return local if local.exists() else None


def read_file(path: Path) -> FileConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that line") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors(include_url=False))
        raise ConfigError(f"{path}: invalid configuration: {problems}") from exc


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Read the environment and the file; ``overrides`` (from the CLI) win over both."""
    try:
        env = EnvSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"environment variable {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"invalid environment: {problems}") from exc
    path = find_config_file(config_path or env.config_path)
    file = read_file(path) if path else FileConfig()
    values: dict[str, Any] = {
        "log_level": env.log_level,
        "debug": env.debug_mode,
        "azure_tenant_id": env.azure_tenant_id,
        "azure_client_id": env.azure_client_id,
        "azure_client_secret": env.azure_client_secret,
        "azure_client_certificate_path": env.azure_client_certificate_path,
        "discover": file.discover,
        "concurrency": file.concurrency,
        "tenants": {k: t.model_copy(update={"name": t.name or k}) for k, t in file.tenants.items()},
        "workspaces": file.workspaces,
        "packs": file.packs,
        "retry": file.retry,
        "http": file.http,
        "config_file": path,
    }
    for key in ("server_name", "read_only", "audit_log", "cache_ttl", "arm_endpoint", "logs_endpoint", "ca_bundle"):
        value = getattr(env, key)
        if value is None:
            value = getattr(file, key)
        if value is not None:
            values[key] = value
    if values.get("audit_log") is None:
        values["audit_log"] = default_audit_log()
    authority = env.azure_authority_host or file.authority_host
    if authority:
        values["authority_host"] = authority
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings.model_validate(values)
    _check_references(settings, path)
    return settings


def _check_references(settings: Settings, path: Path | None) -> None:
    where = str(path) if path else "configuration"
    for i, ws in enumerate(settings.workspaces):
        if ws.tenant and ws.tenant not in settings.tenants:
            known = ", ".join(sorted(settings.tenants)) or "none defined"
            raise ConfigError(
                f"{where}: workspaces[{i}].tenant = {ws.tenant!r} is not a key of [tenants] (known: {known}); "
                "add a [tenants.<name>] table or fix the name"
            )
    aliases = [ws.alias for ws in settings.workspaces if ws.alias]
    dupes = sorted({a for a in aliases if aliases.count(a) > 1})
    if dupes:
        raise ConfigError(f"{where}: workspaces: alias {dupes[0]!r} is used more than once; aliases must be unique")
    if settings.ca_bundle is not None and not Path(settings.ca_bundle).exists():
        raise ConfigError(
            f"ca_bundle (SENTINELKIT_CA_BUNDLE or {where}) = {settings.ca_bundle} does not exist; "
            "point it to a PEM file or unset it"
        )


def emulator_env(info: dict[str, Any]) -> dict[str, str]:
    """The environment that points a server at a running emulator (from its start-up JSON)."""
    return {k: str(v) for k, v in info["env"].items()}


def apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)
