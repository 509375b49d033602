"""``sentinelkit config check``: is the configuration valid, and can every credential get a token?"""

from __future__ import annotations

from typing import Any

from .settings import Settings


async def run_check(settings: Settings, out: Any = print) -> int:
    from .errors import KitError, Where, describe_azure_error
    from .packs import PackManager
    from .runtime import Runtime

    out(f"OK   configuration: {settings.config_file or 'environment only (no sentinelkit.toml)'}")
    out(f"     ARM {settings.arm_endpoint} · Log Analytics {settings.logs_endpoint}"
        + (f" · CA bundle {settings.ca_bundle}" if settings.ca_bundle else ""))
    from .packs import DuplicateToolError
    from .settings import ConfigError

    manager = PackManager(settings=settings).load()
    try:
        manager.check_configuration()
        manager.collect()  # validates every pack's [packs.<name>] settings
    except (ConfigError, DuplicateToolError) as exc:
        out(f"FAIL configuration: {exc}")
        return 1
    for name, error in manager.errors().items():
        out(f"WARN pack {name}: {error}")
    runtime = Runtime(settings, manager)
    if not settings.read_only:
        from .audit import AuditLogError

        try:
            runtime.audit.check()
        except AuditLogError as exc:
            out(f"FAIL audit log: {exc}")
            return 1
        out(f"OK   audit log: {settings.audit_log}")
    if settings.shared_redis_url:  # hosted mode: replicas share state there
        try:
            status = runtime.shared.status()
        except KitError as exc:
            out(f"FAIL shared state: {exc}")
            return 1
        if status["shared"]:
            out(f"OK   shared state: Redis at {status['url']}")
        else:
            out(f"WARN shared state: Redis at {status['url']} is unreachable ({status['last_error']}); the server "
                "would answer from Azure without a shared cache until it is back")
    failures = 0
    keys = runtime.credentials.keys()
    if not keys:
        out("FAIL credentials: none configured; set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "
            "(or sign in with `az login`), or add [tenants.<name>] to sentinelkit.toml")
        return 1
    try:
        for key in keys:
            label = "default (environment)" if key == "default" else f"tenant {key}"
            try:
                credential = runtime.credentials.get(key)
                tenant_id = runtime.credentials.tenant_id(key)
                from .credentials import time_bound

                await time_bound(credential, settings.retry.timeout, key).get_token(
                    settings.arm_scope, **({"tenant_id": tenant_id} if key != "default" else {}))
            except KitError as exc:
                failures += 1
                out(f"FAIL {label}: {exc}")
                continue
            except Exception as exc:
                failures += 1
                out(f"FAIL {label}: {describe_azure_error(exc, Where(tenant=key, operation='sign-in'))}")
                continue
            out(f"OK   {label}: got a token for {settings.arm_scope}")
            try:
                from .azure import api_versions as v

                subs = await runtime.arm(key).list("/subscriptions", v.SUBSCRIPTIONS,
                                                   where=Where(tenant=key, operation="list subscriptions"))
                delegated = sum(1 for s in subs if s.get("managedByTenants") and s.get("tenantId") != runtime.credentials.tenant_id(key))
                out(f"OK   {label}: {len(subs)} subscription(s) visible"
                    + (f", {delegated} through Lighthouse" if delegated else ""))
            except KitError as exc:
                failures += 1
                out(f"FAIL {label}: {exc}")
    finally:
        await runtime.aclose()
    return 1 if failures else 0
