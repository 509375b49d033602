"""Settings: one model, three sources (pydantic-settings): the command line over the environment users
already know over an optional ``sentinelkit.toml`` over the defaults.

The file is strict, so that a typo is reported (with a did-you-mean) instead of ignored; keys that only
the environment may set (the azure-identity credentials, the log level) are refused in the file. Every
error names the key and where it came from: the environment variable, or the file.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

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
    credential: Literal["secret", "certificate", "default", "environment", "auto", "none"] = "auto"
    """How to sign in to it; ``none``: not separately (Lighthouse reaches it): the table names it and sets
    its policy."""
    allow: Literal["all", "read_only"] = "all"
    """``read_only``: writes to this tenant are refused (reads work; fan-out writes skip it, saying so)."""
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


class PacksConfig(BaseModel):
    """``[packs]``: which packs to serve, and each pack's own ``[packs.<name>]`` table (validated by the
    model that pack registers, when it loads)."""

    model_config = ConfigDict(extra="allow")

    enable: list[str] | None = None
    disable: list[str] = []

    def tables(self) -> dict[str, dict[str, Any]]:
        """``{pack: table}`` for every ``[packs.<name>]`` table."""
        extra = self.model_extra or {}
        bad = sorted(k for k, v in extra.items() if not isinstance(v, dict))
        if bad:
            raise ValueError(f"packs.{bad[0]}: expected a table [packs.{bad[0]}] (a pack's settings), or one of "
                             "enable, disable")
        return {k: dict(v) for k, v in extra.items()}


class RetryConfig(_Strict):
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_factor: float = Field(default=0.8, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    retry_after_cap: float = Field(default=30.0, ge=0)
    timeout: float = Field(default=60.0, gt=0)


class RoleConfig(_Strict):
    """One grant of an Entra app role (hosted mode): tools of these safety classes, of these packs (``["*"]``:
    every pack), and, if ``tools`` is set, only those tools. A role may hold several grants (a TOML array of
    tables), e.g. every read-only tool, and the writes of one pack."""

    safety: list[Literal["read_only", "additive", "destructive"]] = ["read_only"]
    packs: list[str] = ["*"]
    tools: list[str] | None = None


#: the app roles of ``[http] auth = "entra"`` when ``[http.roles]`` names none
DEFAULT_ROLES: dict[str, list[RoleConfig]] = {
    "Sentinel.Reader": [RoleConfig(safety=["read_only"])],
    "Sentinel.Responder": [RoleConfig(safety=["read_only"]),
                           RoleConfig(safety=["additive", "destructive"], packs=["incidents"])],
    "Sentinel.Engineer": [RoleConfig(safety=["read_only", "additive", "destructive"])],
}


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
    entra_audience: list[str] = []
    """Accepted ``aud`` values (default: ``api://<entra_client_id>`` and the client id itself)."""
    entra_allowed_tenants: list[str] = []
    """Tenants whose tokens are accepted (default: ``entra_tenant_id`` only)."""
    roles: dict[str, list[RoleConfig]] = {}
    """App role → its grants (default: ``DEFAULT_ROLES``); a token with none of these roles is refused."""
    public_url: str | None = None
    """The URL clients reach the server at (for the protected-resource metadata), e.g. behind a load balancer."""
    stateless: bool = False
    """No MCP sessions: every request stands alone, so any replica behind a load balancer can answer it."""
    session_idle_timeout: float = Field(default=300.0, gt=0)
    """Seconds an MCP session may stay idle before it is closed (and its memory freed)."""
    header_timeout: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a request's headers (and ``body_timeout`` its body) before it is
    disconnected: a client that never finishes holds no connection."""
    body_timeout: float = Field(default=30.0, gt=0)

    @field_validator("roles", mode="before")
    @classmethod
    def _grants(cls, value: Any) -> Any:
        """``[http.roles."X"]`` (one grant) or ``[[http.roles."X"]]`` (several)."""
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, dict) else v for k, v in value.items()}
        return value

    def role_map(self) -> dict[str, list[RoleConfig]]:
        return self.roles or DEFAULT_ROLES


class HostedConfig(_Strict):
    """``[hosted]``: state shared by replicas, and each tenant's ARM request budget."""

    redis_url: str | None = None
    """``redis://host:port/db`` (or ``$SENTINELKIT_REDIS_URL``): cache, discovery, confirmations and budgets
    shared by every replica. Unset: kept in this process."""
    redis_prefix: str = "sentinelkit"
    arm_requests_per_second: float = Field(default=0.0, ge=0)
    """ARM requests per second each target tenant gets from all replicas together (0: no budget)."""
    arm_burst: int = Field(default=50, ge=1)
    """Requests a tenant's budget lets through at once after a quiet spell."""


class ThresholdsConfig(_Strict):
    """``[telemetry.thresholds]``: when ``server_stats`` / ``sentinelkit stats`` mark a KPI as breached."""

    error_rate: float = Field(default=0.05, ge=0, le=1)
    """A share of calls ending in error above this (0.05: 5 %)."""
    avg_response_seconds: float = Field(default=3.0, gt=0)
    """An average response time above this."""


class TelemetryConfig(_Strict):
    """``[telemetry]``: OpenTelemetry traces and metrics (the ``sentinelkit[otel]`` extra) and the KPIs.

    The standard environment wins over the file: ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``
    (``otlp``, ``console``, ``azure_monitor``, ``none``), ``OTEL_EXPORTER_OTLP_*``, ``OTEL_SDK_DISABLED``,
    ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, and
    ``APPLICATIONINSIGHTS_CONNECTION_STRING`` (which alone turns the Azure Monitor exporter on)."""

    enabled: bool | None = None
    """``true``: the SDK even without an exporter (trace ids in logs and audit records); ``false``: never;
    unset: when an exporter is chosen."""
    exporters: list[Literal["otlp", "console", "azure_monitor"]] = []
    otlp_protocol: Literal["grpc", "http/protobuf"] | None = None
    otlp_endpoint: str | None = None
    azure_monitor_connection_string: str | None = Field(default=None, repr=False)
    record_queries: bool = False
    """Put KQL query text on the query API's spans (``db.query.text``), redacted like the logs."""
    metric_export_interval: float = Field(default=60.0, gt=0)
    """Seconds between two exports of the metrics."""
    stats_dir: Path | None = None
    """Where the server keeps its KPIs for ``sentinelkit stats``; default: ``stats/`` beside the audit log."""
    stats_interval: float = Field(default=5.0, gt=0)
    """Seconds between two writes of the KPIs file (only after calls)."""
    thresholds: ThresholdsConfig = ThresholdsConfig()


#: environment variable → setting; the only names the environment sets (empty values count as unset)
ENVIRONMENT: dict[str, str] = {
    "AZURE_TENANT_ID": "azure_tenant_id",
    "AZURE_CLIENT_ID": "azure_client_id",
    "AZURE_CLIENT_SECRET": "azure_client_secret",
    "AZURE_CLIENT_CERTIFICATE_PATH": "azure_client_certificate_path",
    "AZURE_AUTHORITY_HOST": "authority_host",
    "MCP_SERVER_NAME": "server_name",
    "LOG_LEVEL": "log_level",
    "DEBUG_MODE": "debug",
    "SENTINELKIT_READ_ONLY": "read_only",
    "SENTINELKIT_TOOLS": "tools",
    "SENTINELKIT_AUDIT_LOG": "audit_log",
    "SENTINELKIT_CACHE_TTL": "cache_ttl",
    "SENTINELKIT_ARM_ENDPOINT": "arm_endpoint",
    "SENTINELKIT_LOGS_ENDPOINT": "logs_endpoint",
    "SENTINELKIT_CA_BUNDLE": "ca_bundle",
    "SENTINELKIT_EXPORT_DIR": "export_dir",
    "SENTINELKIT_REDIS_URL": "redis_url",
}
#: settings only the environment may set: a file holding them is refused (secrets stay out of files)
ENVIRONMENT_ONLY = {"azure_tenant_id", "azure_client_id", "azure_client_secret", "azure_client_certificate_path",
                    "log_level", "debug", "config_file", "redis_url"}
CONFIG_ENV = "SENTINELKIT_CONFIG"
#: the configuration file ``load_settings`` was given (``--config``), for the file source
_CONFIG_PATH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("sentinelkit_config_path", default=None)


class Settings(BaseSettings):
    """Everything the server needs. Built by ``load_settings`` (which reports errors by source)."""

    model_config = SettingsConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_default=False)

    server_name: str = "sentinelkit"
    log_level: str = "INFO"
    debug: bool = False
    read_only: bool = False
    tools: Literal["full", "compact"] = "full"
    """How tools are listed: ``full`` (one MCP tool per tool), ``compact`` (one per pack, with ``describe``)."""
    audit_log: Path | None = None
    export_dir: Path | None = None
    """Where tools write and read files (exports, backups, CSV imports); nothing outside it."""
    cache_ttl: float = Field(default=300.0, ge=0)
    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    logs_endpoint: str = DEFAULT_LOGS_ENDPOINT
    ca_bundle: Path | None = None
    authority_host: str | None = None
    discover: bool = True
    concurrency: int = Field(default=16, ge=1, le=64)
    """Requests in flight to one target tenant (the tenant owning the resource, whichever credential reaches
    it): Azure throttles each tenant on its own (ARM reads: a bucket of 250 refilled at 25 a second, per
    subscription and principal). 16 reads a tenant of up to 16 workspaces in one wave (8 took two for 10)."""
    fan_out_concurrency: int = Field(default=256, ge=1, le=2000)
    """Workspaces one fan-out (a call over many workspaces) works on at once, across every tenant; each tenant
    still gets at most ``concurrency`` requests at a time."""
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: str | None = Field(default=None, repr=False)
    azure_client_certificate_path: Path | None = None
    tenants: dict[str, TenantConfig] = {}
    workspaces: list[WorkspaceConfig] = []
    packs: PacksConfig = PacksConfig()
    retry: RetryConfig = RetryConfig()
    http: HttpConfig = HttpConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    hosted: HostedConfig = HostedConfig()
    redis_url: str | None = Field(default=None, repr=False)
    """``$SENTINELKIT_REDIS_URL`` (it may hold a password): wins over ``[hosted] redis_url``."""
    config_file: Path | None = None

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The command line (init arguments) over the environment over the file; nothing else."""
        return init_settings, Environment(settings_cls), ConfigFile(settings_cls, _CONFIG_PATH.get())

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

    @property
    def stats_dir(self) -> Path:
        """Where servers keep their KPIs for ``sentinelkit stats``: ``[telemetry] stats_dir``, else ``stats/``
        beside the audit log (the state directory by default)."""
        if self.telemetry.stats_dir is not None:
            return Path(self.telemetry.stats_dir).expanduser()
        return Path(self.audit_log or default_audit_log()).parent / "stats"

    @property
    def shared_redis_url(self) -> str | None:
        """Where replicas share state: ``$SENTINELKIT_REDIS_URL``, else ``[hosted] redis_url`` (None: in process)."""
        return self.redis_url or self.hosted.redis_url

    def pack_enabled(self, name: str) -> bool:
        if name in self.packs.disable:
            return False
        return self.packs.enable is None or name in self.packs.enable or name == "core"

    def pack_tables(self) -> dict[str, dict[str, Any]]:
        """Every ``[packs.<name>]`` table of the file."""
        return self.packs.tables()

    def pack_table(self, name: str) -> dict[str, Any]:
        """The ``[packs.<name>]`` table of the file (empty when there is none)."""
        return self.pack_tables().get(name, {})


class Environment(PydanticBaseSettingsSource):
    """The environment variables of ``ENVIRONMENT`` (and only those); empty values count as unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: dict[str, str] | None = None) -> None:
        super().__init__(settings_cls)
        source = os.environ if environ is None else environ
        self.values = {key: source[name] for name, key in ENVIRONMENT.items() if source.get(name, "").strip()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


class ConfigFile(PydanticBaseSettingsSource):
    """``sentinelkit.toml``: ``$SENTINELKIT_CONFIG`` (empty = unset) or ``./sentinelkit.toml``."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None = None) -> None:
        super().__init__(settings_cls)
        self.path = find_config_file(path)
        self.values = read_file(self.path) if self.path else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {**self.values, "config_file": self.path} if self.path else {}


def default_audit_log() -> Path:
    """``$XDG_STATE_HOME/sentinelkit/audit.jsonl`` (``~/.local/state/...``): writes are always audited."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sentinelkit" / "audit.jsonl"


def _is_local(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return host in {"127.0.0.1", "localhost", "::1"}


def _location(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"])


def describe_validation(exc: ValidationError) -> str:
    """A pydantic validation error as ``key: problem; key: problem`` (no links, no input echo)."""
    return "; ".join(f"{_location(e)}: {e['msg']}" for e in exc.errors(include_url=False))


def find_config_file(explicit: Path | None) -> Path | None:
    """``--config``, else ``SENTINELKIT_CONFIG`` (an empty value means unset), else ``./sentinelkit.toml``."""
    if explicit is None:
        named = os.environ.get(CONFIG_ENV, "").strip()
        explicit = Path(named).expanduser() if named else None
    if explicit is not None:
        if not explicit.is_file():
            what = "is a directory, not a file" if explicit.is_dir() else "does not exist"
            raise ConfigError(f"configuration file {explicit} {what} (from {CONFIG_ENV} or --config); "
                              "create it or unset the variable")
        return explicit
    local = Path.cwd() / CONFIG_FILE_NAME
    return local if local.is_file() else None


def read_file(path: Path) -> dict[str, Any]:
    """The file's settings (unknown keys are reported, with a did-you-mean, when the model validates them;
    keys only the environment may set are refused here)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that line") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    for key in data:
        if key in ENVIRONMENT_ONLY:
            names = [n for n, k in ENVIRONMENT.items() if k == key]
            raise ConfigError(f"{path}: {key} cannot be set in the file; set {' or '.join(names) or key.upper()} "
                              "in the environment instead")
    return data


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The settings model that holds the key at ``loc`` (for did-you-mean suggestions)."""
    import typing

    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part)) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        annotation: Any = field.annotation
        args = typing.get_args(annotation)
        candidates = [annotation, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _suggestion(loc: tuple[Any, ...]) -> str:
    import difflib

    model = _model_at(loc)
    if model is None or not loc:
        return ""
    known = [k for k in model.model_fields if not (model is Settings and k in ENVIRONMENT_ONLY)]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(known))})"


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Read the environment and the file; ``overrides`` (from the CLI) win over both."""
    path = find_config_file(config_path)
    given = {k: v for k, v in overrides.items() if v is not None}
    token = _CONFIG_PATH.set(path)
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, Environment(Settings).values, path)) from None
    finally:
        _CONFIG_PATH.reset(token)
    if settings.audit_log is None:
        settings = settings.model_copy(update={"audit_log": default_audit_log()})
    if settings.export_dir is None:
        from .exports import default_export_dir

        settings = settings.model_copy(update={"export_dir": default_export_dir()})
    else:
        settings = settings.model_copy(update={"export_dir": Path(settings.export_dir).expanduser()})
    settings = settings.model_copy(update={"tenants": {k: t.model_copy(update={"name": t.name or k})
                                                       for k, t in settings.tenants.items()}})
    _check_references(settings, path)
    return settings


def _explain(exc: ValidationError, environment: dict[str, Any], path: Path | None) -> str:
    """Each problem with its source: the environment variable that set it, else the file."""
    by_setting = {key: name for name, key in ENVIRONMENT.items()}
    from_env, from_file = [], []
    for error in exc.errors(include_url=False):
        top = str(error["loc"][0]) if error["loc"] else ""
        if top in environment:
            from_env.append(f"environment variable {by_setting[top]}: {error['msg']}")
        elif error["type"] == "extra_forbidden":
            from_file.append(f"{_location(error)}: unknown key{_suggestion(tuple(error['loc']))}")
        else:
            from_file.append(f"{_location(error)}: {error['msg']}")
    parts = []
    if from_file:
        parts.append(f"{path or 'configuration'}: invalid configuration: {'; '.join(from_file)}")
    if from_env:
        parts.append(f"invalid environment: {'; '.join(from_env)}")
    return "; ".join(parts)


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
    try:
        settings.pack_tables()
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if settings.ca_bundle is not None and not Path(settings.ca_bundle).exists():
        raise ConfigError(
            f"ca_bundle (SENTINELKIT_CA_BUNDLE or {where}) = {settings.ca_bundle} does not exist; "
            "point it to a PEM file or unset it"
        )


class PackSettings(BaseSettings):
    """The base of a pack's settings model (``register_settings``): its ``[packs.<name>]`` table of
    ``sentinelkit.toml``, with environment variables winning over the table and the table over defaults.

    Name environment variables the pydantic-settings way (``model_config = SettingsConfigDict(
    env_prefix="MYPACK_")``, or a field's ``validation_alias``). Unknown keys in the table are errors."""

    model_config = SettingsConfigDict(extra="forbid")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings
