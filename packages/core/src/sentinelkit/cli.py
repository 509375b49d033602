"""The ``sentinelkit`` command: serve, packs, tools, call, config check — and what packs add
(``register_commands``: the devkit adds ``demo`` and ``--emulator``).

Imports stay inside the commands: ``serve`` must reach ``tools/list`` quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: the shortest bearer token the HTTP transport accepts (characters)
MIN_TOKEN = 32


def _common(parser: argparse.ArgumentParser) -> None:
    """Options every command takes, before or after its name."""
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="sentinelkit.toml to use (default: $SENTINELKIT_CONFIG, ./sentinelkit.toml)")


def _parser(commands: list[Any], options: list[Any]) -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="sentinelkit", description="Microsoft Sentinel over the Model Context Protocol.")
    parser.add_argument("--version", action="version", version=f"sentinelkit {__version__}")
    _common(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    parsers: dict[str, argparse.ArgumentParser] = {}

    serve = parsers["serve"] = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--http", metavar="[HOST:]PORT", nargs="?", const="",
                       help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (a bare PORT binds "
                            "127.0.0.1; default: [http] host and port of sentinelkit.toml, else 127.0.0.1:8000)")
    serve.add_argument("--read-only", action="store_true", default=None, help="serve only read-only tools")
    serve.add_argument("--tools", choices=("full", "compact"), default=None,
                       help="list every tool (full, the default: tools = \"full\" of sentinelkit.toml), or one tool "
                            "per pack taking an operation and its arguments (compact: a small catalog)")
    serve.add_argument("--log-format", choices=("json", "console"), default="json",
                       help="stderr log lines: one JSON object each (default), or readable text")

    for name, text in (("packs", "installed packs, versions, tools, load errors and start-up warnings"),
                       ("tools", "tools with their pack, safety class, description and parameters")):
        p = parsers[name] = sub.add_parser(name, help=text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--read-only", action="store_true", default=None, help=argparse.SUPPRESS)

    call = parsers["call"] = sub.add_parser(
        "call", help="call one tool and print its result (for scripts; exit 1: the tool failed, 3: it answered "
                     "with errors for some of its targets)")
    call.add_argument("tool")
    call.add_argument("--args", default="{}", help="arguments as a JSON object")
    call.add_argument("--read-only", action="store_true", default=None)

    stats = parsers["stats"] = sub.add_parser(
        "stats", help="the running servers' KPIs: per tool and tenant, calls, success and error rates, p50/p95 "
                      "latency over the last hour and since start, breached thresholds marked")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--tool", help="only this tool")
    stats.add_argument("--tenant", help="only this tenant")
    stats.add_argument("--check", action="store_true", help="exit 2 when a threshold is breached (for monitoring)")

    config = sub.add_parser("config", help="configuration commands")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    parsers["config check"] = config_sub.add_parser("check", help="validate configuration and credentials; get one token")
    for spec in commands:
        p = parsers[spec.name] = sub.add_parser(spec.name, help=f"{spec.help} (pack {spec.pack})")
        if spec.arguments is not None:
            spec.arguments(p)
    for option in options:
        for command in option.commands:
            if command in parsers:
                parsers[command].add_argument(*option.flags, **option.kwargs)
    for p in parsers.values():
        _common(p)
    return parser


def _settings(args: argparse.Namespace) -> Any:
    from .settings import ConfigError, load_settings

    try:
        return load_settings(getattr(args, "config", None), read_only=getattr(args, "read_only", None),
                             tools=getattr(args, "tools", None))
    except ConfigError as exc:
        raise SystemExit(f"sentinelkit: configuration error: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    from contextlib import ExitStack

    from .packs import PackManager

    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
    os.environ.setdefault("FASTMCP_SHOW_SERVER_BANNER", "false")
    os.environ.setdefault("FASTMCP_LOG_ENABLED", "false")  # its records go through our handler: JSON lines
    commands, options = PackManager().commands()
    args = _parser(commands, options).parse_args(argv)
    command = args.command if args.command != "config" else f"config {args.config_command}"
    handler = next((c.run for c in commands if c.name == command), None) or globals()[
        f"cmd_{command.replace(' ', '_')}"]
    if command == "serve":
        _stop_on_sigterm()
    try:
        with ExitStack() as stack:  # options' contexts (e.g. --emulator), entered in order, left in reverse
            for option in options:
                if command in option.commands and option.around is not None:
                    stack.enter_context(option.around(args))
            return int(handler(args) or 0)
    except _Terminated:
        # cleaned up (the contexts above were left); the stdio transport's reader thread may still block on
        # a stdin the client keeps open, and the interpreter would wait for it forever
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


# -- serve ------------------------------------------------------------------------------------
def parse_hostport(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[::1]:PORT`` or a bare ``PORT`` (on 127.0.0.1)."""
    value = value.strip()
    if value.isdigit():
        return "127.0.0.1", int(value)
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"sentinelkit: --http expects HOST:PORT or PORT (e.g. 127.0.0.1:8000 or 8000), got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def http_auth(settings: Any, host: str, port: int = 8000) -> Any:
    """The HTTP transport's authentication; refuse a non-loopback bind without any.

    ``[http] auth = "token"``: a shared bearer token from ``$SENTINELKIT_HTTP_TOKEN``.
    ``[http] auth = "entra"``: Entra ID access tokens for the app ``entra_client_id`` (signature against the
    issuing tenant's keys, issuer, audience, expiry, allowed tenants; app roles: ``sentinelkit.entra``).
    """
    http = settings.http
    verifier: Any = None
    if http.auth == "entra":
        if not (http.entra_tenant_id and http.entra_client_id):
            raise SystemExit("sentinelkit: [http] auth = \"entra\" needs entra_tenant_id and entra_client_id "
                             f"(the app registration clients get tokens for) in {settings.config_file or 'sentinelkit.toml'}")
        from .entra import entra_auth

        public = http.public_url or f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        verifier = entra_auth(http, authority=settings.authority_host,
                              ca_bundle=str(settings.ca_bundle) if settings.ca_bundle else None, public_url=public)
    else:
        env = http.auth_token_env
        token = os.environ.get(env) if env else None
        if token and len(token) < MIN_TOKEN:
            raise SystemExit(
                f"sentinelkit: the HTTP bearer token in ${env} has {len(token)} characters; use at least {MIN_TOKEN} "
                "random ones (e.g. `python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"`): a short token "
                "can be guessed")
        if token:
            from .httpauth import SharedTokenVerifier
            from .log import add_secret

            add_secret(token)
            verifier = SharedTokenVerifier(token)
    if host not in LOOPBACK:
        if not http.allow_remote:
            raise SystemExit(
                f"sentinelkit: refusing to listen on {host}: the server manages Sentinel with your Azure credentials "
                "and must not be reachable from other machines by accident. Bind 127.0.0.1, or set "
                "[http] allow_remote = true in sentinelkit.toml with authentication ([http] auth = \"entra\", or a "
                f"bearer token in ${http.auth_token_env or 'SENTINELKIT_HTTP_TOKEN'}), and put TLS in front."
            )
        if verifier is None:
            raise SystemExit(
                f"sentinelkit: refusing to listen on {host} without authentication: set a long random bearer token "
                f"in ${http.auth_token_env or 'SENTINELKIT_HTTP_TOKEN'} (clients send 'Authorization: Bearer <token>'), "
                "or use Entra ID with [http] auth = \"entra\"."
            )
    return verifier


class _Terminated(SystemExit):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C does, through ``finally`` blocks (the embedded emulator
    removes its files), where the default action would end the process on the spot."""


def _stop_on_sigterm() -> None:
    import signal

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signum, signal.SIG_IGN)  # a second signal must not interrupt the clean-up
        raise _Terminated(0)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def _telemetry(settings: Any) -> Any:
    """The OpenTelemetry SDK and exporters when ``[telemetry]`` / ``OTEL_*`` configure them, else ``None``."""
    from .settings import ConfigError
    from .telemetry.setup import configure

    try:
        return configure(settings)
    except ConfigError as exc:
        raise SystemExit(f"sentinelkit: configuration error: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from .log import configure

    configure(settings.log_level, debug=settings.debug, human=args.log_format == "console")
    telemetry = _telemetry(settings)
    try:
        return _serve(args, settings)
    finally:  # what is still buffered goes out, also on SIGTERM
        if telemetry is not None:
            telemetry.shutdown()


def _serve(args: argparse.Namespace, settings: Any) -> int:
    from .packs import DuplicateToolError, PackManager
    from .server import build_server
    from .settings import ConfigError

    manager = PackManager(settings=settings)
    try:
        mcp = build_server(settings, manager)
    except (DuplicateToolError, ConfigError) as exc:  # e.g. an audit log that cannot be written
        print(f"sentinelkit: cannot start: {exc}", file=sys.stderr)
        return 2
    errors = manager.errors()
    if errors:
        from .log import logger

        for name, error in errors.items():
            logger().warning("pack_not_loaded", pack=name, error=error,
                             hint="`sentinelkit packs` shows every pack and its status")
    for name, warnings in manager.warnings().items():
        from .log import logger

        for warning in warnings:
            logger().warning("pack_warning", pack=name, warning=warning,
                             hint="`sentinelkit packs` shows every pack and its status")
    if args.http is not None:
        host, port = parse_hostport(args.http) if args.http else (settings.http.host, settings.http.port)
        auth = http_auth(settings, host, port)
        if auth is not None:
            mcp.auth = auth
        from starlette.middleware import Middleware

        from .httpauth import HostOriginGuard, allowed_authorities
        from .httpserve import run_http
        from .telemetry.httpcontext import TraceContextMiddleware

        # DNS rebinding: refuse Host/Origin headers that do not name this server (MCP spec).
        middleware = [Middleware(HostOriginGuard, allowed=allowed_authorities(host, port, settings.http.allowed_hosts))]
        # a client's W3C trace context (traceparent) is continued by the server's spans
        middleware.append(Middleware(TraceContextMiddleware))
        if settings.http.auth == "entra":
            from .entra import RoleGate

            middleware.append(Middleware(RoleGate, roles=list(settings.http.role_map())))
        run_http(mcp, settings, host, port, middleware)
    else:
        from .stdiopipes import run

        run(mcp)
    return 0


# -- packs / tools ----------------------------------------------------------------------------
def _inventory(args: argparse.Namespace) -> tuple[Any, Any, str | None]:
    from .packs import DuplicateToolError, PackManager
    from .settings import ConfigError

    settings = _settings(args)
    manager = PackManager(settings=settings).load()
    try:
        manager.check_configuration()
        collected = manager.collect()
        problem = None
    except (DuplicateToolError, ConfigError) as exc:
        collected, problem = None, str(exc)
    return manager, collected, problem


def cmd_packs(args: argparse.Namespace) -> int:
    manager, _, problem = _inventory(args)
    packs = [p.to_json() for p in manager.packs.values()]
    if args.json:
        print(json.dumps({"packs": packs, "error": problem}, indent=2))
        return 1 if problem else 0
    for p in packs:
        status = "disabled" if not p["enabled"] else ("FAILED" if p["error"] else "loaded")
        version = p["version"] or "?"
        print(f"{p['name']:<14} {version:<9} {status:<9} {p['distribution'] or p['module']}")
        if p["error"]:
            print(f"    error: {p['error']}")
        for warning in p["warnings"]:
            print(f"    warning: {warning}")
        if p["tools"]:
            print(f"    tools: {', '.join(p['tools'])}")
        if p["prompts"]:
            print(f"    prompts: {', '.join(p['prompts'])}")
    if problem:
        print(f"\nerror: {problem}")
        return 1
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    _, collected, problem = _inventory(args)
    if problem or collected is None:
        print(f"sentinelkit: {problem}", file=sys.stderr)
        return 1
    settings = _settings(args)
    from .toolwrap import describe_parameters

    rows = [
        {"name": s.name, "pack": s.pack, "safety": s.safety.value,
         "served": not (settings.read_only and s.safety.writes),
         "description": summary(s.description), "parameters": describe_parameters(s)}
        for s in sorted(collected.tools.values(), key=lambda s: (s.pack != "core", s.pack, s.name))
    ]
    if args.json:
        print(json.dumps({"tools": rows}, indent=2))
        return 0
    for r in rows:
        hidden = "" if r["served"] else "  (hidden: read-only)"
        print(f"{r['name']:<32} {r['pack']:<12} {r['safety']:<12} {r['description']}{hidden}")
        params = ", ".join(f"{p['name']}{'' if p['required'] else '?'}" for p in r["parameters"])
        print(f"{'':<32} {'':<12} {'':<12} ({params})")
    return 0


def summary(description: str) -> str:
    """A docstring's first paragraph on one line (a wrapped sentence is not cut in the middle)."""
    return " ".join(description.strip().split("\n\n", 1)[0].split())


# -- call -------------------------------------------------------------------------------------
def cmd_call(args: argparse.Namespace) -> int:
    import asyncio

    try:
        arguments = json.loads(args.args)
    except json.JSONDecodeError as exc:
        print(f"sentinelkit: --args is not valid JSON ({exc}); pass an object like '{{\"tenant\": \"fabrikam\"}}'",
              file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("sentinelkit: --args must be a JSON object", file=sys.stderr)
        return 2
    settings = _settings(args)
    from .log import configure

    configure(settings.log_level, debug=settings.debug)
    if not settings.debug:  # the tool's error is printed below; FastMCP's record of it would say it twice
        import logging

        logging.getLogger("fastmcp").setLevel(logging.CRITICAL)
    telemetry = _telemetry(settings)
    try:
        return asyncio.run(_call(settings, args.tool, arguments))
    finally:
        if telemetry is not None:
            telemetry.shutdown()


async def _call(settings: Any, tool: str, arguments: dict[str, Any]) -> int:
    from fastmcp import Client

    from .server import build_server

    mcp = build_server(settings)
    async with Client(mcp) as client:
        result = await client.call_tool(tool, arguments, raise_on_error=False)
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        print(f"error: {text}", file=sys.stderr)
        return 1
    data = result.structured_content if result.structured_content is not None else [
        getattr(c, "text", None) for c in result.content]
    print(json.dumps(data, indent=2, default=str))
    if isinstance(data, dict) and data.get("errors"):
        print(f"sentinelkit: {tool} answered, with errors for: {', '.join(map(str, data['errors']))}",
              file=sys.stderr)
        return 3
    return 0


# -- stats ------------------------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace) -> int:
    """The KPIs of the servers running with this configuration: each writes them to the stats directory
    (``[telemetry] stats_dir``, default ``stats/`` beside the audit log) a few seconds after its calls."""
    from .telemetry.kpi import Stats, running_servers
    from .telemetry.report import render

    settings = _settings(args)
    servers = running_servers(settings.stats_dir)
    reports = [{"server": data["server"], **Stats.from_json(data["stats"]).report(tool=args.tool, tenant=args.tenant)}
               for data in servers]
    if args.json:
        print(json.dumps({"stats_dir": str(settings.stats_dir), "servers": reports}, indent=2))
    elif not reports:
        print(f"no running sentinelkit server has stats in {settings.stats_dir} (a server writes them there a few "
              "seconds after its first tool call; `sentinelkit stats` must use the same configuration, or the "
              "same [telemetry] stats_dir, as the server)")
    else:
        print("\n\n".join(render(report) for report in reports))
    breached = any(report["breaches"] for report in reports)
    return 2 if args.check and breached else 0


# -- config check -----------------------------------------------------------------------------
def cmd_config_check(args: argparse.Namespace) -> int:
    import asyncio

    from .settings import ConfigError, load_settings

    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"FAIL configuration: {exc}")
        return 1
    from .check import run_check

    return asyncio.run(run_check(settings))


if __name__ == "__main__":
    raise SystemExit(main())
