"""``sentinelkit demo``: the embedded emulator, the real server over stdio, a real MCP client, and a tour
whose steps come from the installed packs (``sentinelkit_demo_steps``): the tour names none of their tools.

The devkit's own steps: the packs and their tools, the workspaces of every tenant, and the audit record of
the write a pack's step made. Then the Claude Desktop configuration that serves the same emulator state.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sentinelkit import Safety

STATE_FILE = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "sentinelkit" / "demo-emulator.sqlite"

Step = dict[str, Any]


class TourError(Exception):
    """A tool call of the tour failed; the step says so and the tour goes on."""


class Tour:
    """What a step gets: the MCP session (a real client of ``sentinelkit serve``), the tools it serves,
    ways to print, and ``state`` shared between steps (e.g. the incident one step picked)."""

    def __init__(self, session: Any, tools: dict[str, Any], color: bool, audit_log: Path) -> None:
        self.session = session
        self.tools = tools
        self.color = color
        self.audit_log = audit_log
        self.state: dict[str, Any] = {}

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def title(self, n: int, text: str) -> None:
        print()
        print(self._c("1;36", f"[{n}] {text}"), flush=True)

    def line(self, text: str = "") -> None:
        print(f"    {text}", flush=True)

    def note(self, text: str) -> None:
        print(self._c("33", f"    {text}"), flush=True)

    def show(self, data: Any, max_lines: int = 30) -> None:
        """Pretty JSON, cut to a screenful."""
        lines = json.dumps(data, indent=2, default=str).splitlines()
        for line in lines[:max_lines]:
            self.line(line)
        if len(lines) > max_lines:
            self.note(f"... {len(lines) - max_lines} more lines (ask your MCP client for the full answer)")

    def has(self, tool: str) -> bool:
        return tool in self.tools

    async def call(self, tool: str, arguments: dict[str, Any], *, progress: bool = False) -> Any:
        """Call a tool; its structured answer (``TourError`` when it fails). ``progress``: print the server's
        progress notifications as they come."""

        async def report(done: float, total: float | None, message: str | None) -> None:
            self.note(f"  … {message or f'{done:g}/{total:g}'}")

        result = await self.session.call_tool(tool, arguments, progress_callback=report if progress else None)
        data = result.structured_content
        if data is None:
            text = " ".join(getattr(c, "text", "") for c in result.content)
            try:
                data = json.loads(text)
            except ValueError:
                data = text
        if result.is_error:
            raise TourError(str(data))
        return data


# -- the devkit's own steps ----------------------------------------------------------------------------
async def packs_and_tools(tour: Tour) -> None:
    by_pack: dict[str, list[str]] = {}
    for tool in tour.tools.values():
        meta = (tool.meta or {}).get("sentinelkit", {})
        safety = Safety.from_annotations(tool.annotations).tag
        by_pack.setdefault(meta.get("pack", "?"), []).append(f"{tool.name} ({safety})")
    for pack, names in sorted(by_pack.items()):
        tour.line(f"{pack:<12} {', '.join(sorted(names))}")


async def workspaces(tour: Tour) -> None:
    listing = await tour.call("workspace_list", {})
    for w in listing["workspaces"]:
        sentinel = "Sentinel" if w["sentinel"] else "no Sentinel"
        tour.line(f"{w['tenant']:<13} {w['name']:<20} {sentinel}")


async def audit_record(tour: Tour) -> None:
    """The record the server wrote for the last write of the tour: who, what, where, how it was confirmed."""
    if not tour.audit_log.exists():
        tour.note("no write was made in this tour, so the audit log is empty")
        return
    records = [json.loads(line) for line in tour.audit_log.read_text().splitlines() if line.strip()]
    applied = [r for r in records if r.get("outcome") == "applied"] or records
    tour.line(f"{tour.audit_log} (one JSON line per write, dry runs and refusals included):")
    last = applied[-1]
    tour.show({k: last.get(k) for k in ("time", "tool", "caller", "tenant", "workspace", "arguments", "outcome",
                                        "confirmed_by", "correlation_ids") if k in last})


OWN_STEPS: list[Step] = [
    {"order": 10, "title": "Installed packs and their tools", "run": packs_and_tools},
    {"order": 20, "title": "Workspaces across every tenant (Lighthouse-delegated and per-tenant)", "run": workspaces},
    {"order": 90, "title": "The audit log: what the write recorded", "run": audit_record},
]


def steps() -> list[Step]:
    """The devkit's steps and every installed pack's (``sentinelkit_demo_steps``), in order."""
    from sentinelkit.packs import PackManager

    manager = PackManager()
    manager.collect()
    found = [step for answer in manager.hook.sentinelkit_demo_steps() if answer for step in answer]
    return sorted([*OWN_STEPS, *found], key=lambda s: (int(s.get("order", 50)), str(s.get("title"))))


async def tour(env: dict[str, str], color: bool) -> int:
    import mcp.types as t
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    audit = Path(env["SENTINELKIT_AUDIT_LOG"])

    async def confirm(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        print(f"    the server asks the user: {params.message}")
        print("    the demo answers: yes", flush=True)
        return t.ElicitResult(action="accept", content={"value": True, "confirm": True})

    print("starting `sentinelkit serve` (stdio) and connecting an MCP client…", flush=True)
    server = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve"], env=env)
    with open(os.devnull, "w") as quiet:
        async with stdio_client(server, errlog=quiet) as (read, write):
            async with ClientSession(read, write, elicitation_callback=confirm) as session:
                await session.initialize()
                tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                guide = Tour(session, tools, color, audit)
                for n, step in enumerate(steps(), 1):
                    guide.title(n, str(step["title"]))
                    run: Callable[[Tour], Awaitable[None]] = step["run"]
                    try:
                        await run(guide)
                    except TourError as exc:
                        guide.note(f"failed: {exc}")
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

    print("sentinelkit demo: an offline Azure emulator (an MSSP and four customers), the sentinelkit MCP server")
    print("over stdio, and a real MCP client. Nothing here touches your Azure tenants.")
    print("starting the offline emulator…", flush=True)
    started = time.monotonic()
    emu = start_emulator(write_config=False, state_file=STATE_FILE)
    try:
        # every tour starts from the scenario (the changes of earlier tours are dropped once the emulator runs,
        # never before); Claude Desktop then serves the state this tour leaves behind
        emu.reset()
        print(f"emulator ready in {time.monotonic() - started:.1f} s", flush=True)
        workdir = Path(emu.info["ca_path"]).parent
        env = {**os.environ, **emulator_environment(emu.info, workdir)}
        code = asyncio.run(tour(env, color))
    finally:
        emu.stop()
    print()
    print(("\033[1;36m" if color else "") + "Use it from Claude Desktop" + ("\033[0m" if color else ""))
    print("    Add this to claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/,")
    print("    Windows: %APPDATA%\\Claude\\) and restart Claude Desktop; it serves the same emulator state:")
    print()
    print(json.dumps(claude_config(), indent=2))
    return code
