"""``sentinelkit demo``: the embedded emulator, the real server over stdio, a real MCP client, and a
short tour. Steps that need a pack that is not installed say so (and which pack to install)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

STATE_FILE = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "sentinelkit" / "demo-emulator.sqlite"


class Printer:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def step(self, n: int, title: str) -> None:
        print()
        print(self._c("1;36", f"[{n}] {title}"))

    def line(self, text: str = "") -> None:
        print(f"    {text}")

    def note(self, text: str) -> None:
        print(self._c("33", f"    {text}"))


def _show(p: Printer, data: Any, max_lines: int = 40) -> None:
    """Pretty JSON, cut to a screenful."""
    lines = json.dumps(data, indent=2, default=str).splitlines()
    for line in lines[:max_lines]:
        p.line(line)
    if len(lines) > max_lines:
        p.note(f"... {len(lines) - max_lines} more lines (ask your MCP client for the full answer)")


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        for k in (key, "items", "results"):
            if isinstance(data.get(k), list):
                return [i for i in data[k] if isinstance(i, dict)]
    return []


def _summarise_health(p: Printer, health: Any) -> None:
    """One line per workspace and its findings; the raw answer when its shape is unfamiliar."""
    workspaces = _items(health, "workspaces")
    if not workspaces:
        _show(p, health)
        return
    if isinstance(health, dict) and health.get("status"):
        p.line(f"overall: {health['status']}")
    for w in workspaces:
        p.line(f"{w.get('tenant', ''):<13} {w.get('workspace', ''):<18} {w.get('status', '')}")
        for f in w.get("findings") or []:
            p.line(f"    [{f.get('severity', '?')}] {f.get('title') or f.get('message') or f.get('check')}")


def _result(result: Any) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    text = " ".join(getattr(c, "text", "") for c in result.content)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _fill(schema: dict[str, Any], known: dict[str, Any]) -> dict[str, Any] | None:
    """Arguments for a tool we only know by its schema: the required ones, from ``known``."""
    args: dict[str, Any] = {}
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        prop = props.get(name, {})
        if name in known:
            args[name] = known[name]
        elif "enum" in prop:
            args[name] = prop["enum"][0]
        else:
            return None
    for name, value in known.items():
        if name in props and name not in args and name in ("severity", "status", "limit"):
            args[name] = value
    return args


async def tour(env: dict[str, str], p: Printer) -> int:
    import mcp.types as t
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def confirm(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        p.note(f"the server asks: {params.message}")
        p.note("the demo answers: yes")
        return t.ElicitResult(action="accept", content={"value": True, "confirm": True})

    server = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve"], env=env)
    async with stdio_client(server, errlog=open(os.devnull, "w")) as (read, write):
        async with ClientSession(read, write, elicitation_callback=confirm) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}

            p.step(1, "Installed packs and their tools")
            by_pack: dict[str, list[str]] = {}
            for tool in tools.values():
                meta = (tool.meta or {}).get("sentinelkit", {})
                safety = meta.get("safety", "?").replace("_", "-")
                by_pack.setdefault(meta.get("pack", "?"), []).append(f"{tool.name} ({safety})")
            for pack, names in sorted(by_pack.items()):
                p.line(f"{pack:<12} {', '.join(sorted(names))}")

            p.step(2, "Workspaces across every tenant (Lighthouse-delegated and per-tenant)")
            listing = _result(await session.call_tool("workspace_list", {}))
            for w in listing["workspaces"]:
                sentinel = "Sentinel" if w["sentinel"] else "no Sentinel"
                p.line(f"{w['tenant']:<13} {w['name']:<20} {sentinel}")

            p.step(3, "Health check across every tenant")
            if "sentinel_health_check" in tools:
                args = _fill(tools["sentinel_health_check"].input_schema, {}) or {}
                health = _result(await session.call_tool("sentinel_health_check", args))
                _summarise_health(p, health)
            else:
                p.note("the health pack is not installed: pip install sentinelkit-health (tool sentinel_health_check)")

            p.step(4, "Incidents that need attention (New, High severity, every workspace)")
            first: dict[str, Any] | None = None
            if "incident_list" in tools:
                known = {"workspaces": "all", "severity": "High", "status": "New", "limit": 8}
                listing = _fill(tools["incident_list"].input_schema, known)
                if listing is None:
                    p.note("incident_list needs arguments this demo cannot guess; try it from your MCP client")
                else:
                    incidents = _result(await session.call_tool("incident_list", listing))
                    items = _items(incidents, "incidents")
                    for i in items:
                        p.line(f"#{i.get('number', '?'):<4} {i.get('severity', ''):<7} {i.get('workspace', ''):<18} "
                               f"{(i.get('owner') or 'unassigned')[:24]:<24} {i.get('title', '')}")
                    if not items:
                        _show(p, incidents)
                    first = next((i for i in items if i.get("workspace")), None)
            else:
                p.note("the incidents pack is not installed: pip install sentinelkit-incidents (tool incident_list)")

            p.step(5, "A write that asks for confirmation")
            if "incident_close" in tools and first is not None:
                wanted = {"workspace": first["workspace"], "incident_id": str(first.get("number") or first.get("id")),
                          "classification": "BenignPositive", "comment": "Closed from the sentinelkit demo"}
                props = tools["incident_close"].input_schema.get("properties", {})
                close = {k: v for k, v in wanted.items() if k in props}
                p.line(f"incident_close #{close.get('incident_id')} in {close.get('workspace')}, dry run first:")
                preview = _result(await session.call_tool("incident_close", {**close, "dry_run": True}))
                would = preview.get("would_change", {}) if isinstance(preview, dict) else {}
                if would.get("summary"):
                    p.line(f"  would: {would['summary']} (nothing changed)")
                else:
                    _show(p, preview, max_lines=12)
                p.line("now for real, without confirm=true: the server asks the user through MCP elicitation")
                done = await session.call_tool("incident_close", close)
                data = _result(done)
                incident = data.get("incident") if isinstance(data, dict) else None
                if done.is_error:
                    p.note(f"failed: {data}")
                elif isinstance(incident, dict) and incident.get("status"):
                    p.line(f"  done: incident #{incident.get('number', '?')} is now {incident['status']}")
                else:
                    _show(p, data, max_lines=12)
            elif "incident_close" in tools:
                p.note("no incident to close")
            else:
                p.note("no pack with incident_close is installed: pip install sentinelkit-incidents "
                       "(destructive tools ask for confirmation through MCP elicitation)")
    return 0


def claude_config() -> dict[str, Any]:
    """Claude Desktop does not inherit the shell's PATH: give the absolute path of the command."""
    args = ["serve", "--emulator", "--emulator-state", str(STATE_FILE)]
    launched = Path(sys.argv[0])
    if launched.name == "sentinelkit" and launched.exists():
        command = str(launched.resolve())
    else:
        command = shutil.which("sentinelkit") or ""
    if not command:
        command, args = sys.executable, ["-m", "sentinelkit.cli", *args]
    return {"mcpServers": {"sentinel": {"command": command, "args": args}}}


def run_demo(color: bool = False) -> int:
    from .emulator import emulator_environment, start_emulator

    p = Printer(color)
    print("sentinelkit demo: an offline Azure emulator (an MSSP and four customers), the sentinelkit MCP server")
    print("over stdio, and a real MCP client. Nothing here touches your Azure tenants.")
    emu = start_emulator(write_config=False, state_file=STATE_FILE)
    try:
        # every tour starts from the scenario (the changes of earlier tours are dropped, once the emulator
        # runs); Claude Desktop then serves the state this tour leaves behind
        emu.reset()
        workdir = Path(emu.info["ca_path"]).parent
        env = {**os.environ, **emulator_environment(emu.info, workdir)}
        code = asyncio.run(tour(env, p))
    finally:
        emu.stop()
    p.step(6, "Use it from Claude Desktop")
    p.line("Add this to claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/,")
    p.line("Windows: %APPDATA%\\Claude\\) and restart Claude Desktop; it serves the same emulator state:")
    print()
    print(json.dumps(claude_config(), indent=2))
    return code
