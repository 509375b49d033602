"""Catalog benchmark: what ``tools/list`` costs a conversation, per pack and in total, in each tool mode.

For each mode (``serve --tools full`` and ``--tools compact``), ``sentinelkit serve`` runs over stdio with
every installed pack and the mcp SDK client lists its tools. Every tool is measured as that client
received it (``Tool.model_dump_json(by_alias=True, exclude_none=True)``: compact JSON, the form it went
over the wire in) and attributed to its pack (``_meta.sentinelkit.pack``). Printed: per pack the tools,
bytes, bytes per tool and estimated tokens; the total; the server's instructions (sent once, at
``initialize``); and in compact mode the size of a ``describe`` answer (what fetching one operation's
parameters costs). Tokens are estimated as bytes / 4 (JSON and English average 3.5-4.5 bytes per token
with current tokenizers; no tokenizer is installable offline).

Start-up is timed as ``benchmarks/startup.py`` does it (spawn → ``tools/list`` answered, a raw JSON-RPC
client, modes alternated so that machine noise hits both alike); the machine's load average is printed
with it.

    python benchmarks/catalog.py [--runs 9] [--modes full compact]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import spawn_to_tools_list  # noqa: E402

BYTES_PER_TOKEN = 4
SERVE = [sys.executable, "-m", "sentinelkit.cli", "serve"]


def mode_args(mode: str) -> list[str]:
    return ["--tools", mode] if mode != "full" else []


def tokens(size: int) -> int:
    return round(size / BYTES_PER_TOKEN)


async def catalog(mode: str, env: dict[str, str]) -> dict[str, Any]:
    """The listing of one mode as the mcp SDK client receives it, and the size of its ``describe`` answers."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], *mode_args(mode)], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        listed = await session.list_tools()
        tools = [(t, len(t.model_dump_json(by_alias=True, exclude_none=True).encode())) for t in listed.tools]
        described: list[int] = []
        for tool, _ in tools:
            enum = ((tool.input_schema.get("properties") or {}).get("operation") or {}).get("enum") or []
            for operation in (op for op in enum if op != "describe"):
                answer = await session.call_tool(tool.name, {"operation": "describe",
                                                             "arguments": {"operation": operation}})
                assert not answer.is_error, answer.content
                described.append(len(answer.content[0].text.encode()))
    return {"instructions": len((init.instructions or "").encode()), "tools": tools, "described": described}


def report(mode: str, found: dict[str, Any]) -> int:
    by_pack: dict[str, list[int]] = defaultdict(list)
    for tool, size in found["tools"]:
        pack = ((tool.meta or {}).get("sentinelkit") or {}).get("pack") or "(no pack)"
        by_pack[pack].append(size)
    print(f"\n{mode} mode: tools/list as the mcp SDK client receives it")
    print(f"  {'pack':<14} {'tools':>5} {'bytes':>8} {'bytes/tool':>10} {'~tokens':>8}")
    for pack in sorted(by_pack, key=lambda p: (p != "core", p)):
        sizes = by_pack[pack]
        print(f"  {pack:<14} {len(sizes):>5} {sum(sizes):>8} {sum(sizes) // len(sizes):>10} {tokens(sum(sizes)):>8}")
    total = sum(size for _, size in found["tools"])
    count = len(found["tools"])
    print(f"  {'total':<14} {count:>5} {total:>8} {total // max(count, 1):>10} {tokens(total):>8}")
    print(f"  instructions (once per conversation): {found['instructions']} bytes (~{tokens(found['instructions'])} "
          f"tokens); with tools/list: {total + found['instructions']} bytes (~{tokens(total + found['instructions'])} "
          "tokens)")
    if found["described"]:
        sizes = found["described"]
        print(f"  describe of one operation: median {statistics.median(sizes):.0f} bytes, max {max(sizes)} "
              f"({len(sizes)} operations)")
    return total


def startup(modes: list[str], runs: int, env: dict[str, str]) -> None:
    for mode in modes:  # warm the bytecode and schema caches
        spawn_to_tools_list([*SERVE, *mode_args(mode)], env)
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    wire: dict[str, int] = {}
    before = os.getloadavg()
    for _ in range(runs):
        for mode in modes:
            elapsed, line, _cpu = spawn_to_tools_list([*SERVE, *mode_args(mode)], env)
            times[mode].append(elapsed)
            wire[mode] = len(line)
    after = os.getloadavg()
    print(f"\nstart-up, spawn -> tools/list answered ({runs} runs per mode, alternated; load average "
          f"{before[0]:.1f} before, {after[0]:.1f} after, on {os.cpu_count()} CPUs)")
    for mode in modes:
        values = times[mode]
        print(f"  {mode:<8} median {statistics.median(values) * 1000:7.1f} ms   (range {min(values) * 1000:.0f}-"
              f"{max(values) * 1000:.0f} ms)   tools/list response on the wire: {wire[mode]} bytes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="start-up runs per mode (default 9)")
    parser.add_argument("--modes", nargs="+", default=["full", "compact"], choices=["full", "compact"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off", "FASTMCP_SHOW_SERVER_BANNER": "false",
               "SENTINELKIT_AUDIT_LOG": str(Path(tmp) / "audit.jsonl"), "SENTINELKIT_CACHE_DIR": tmp}
        env.pop("SENTINELKIT_CONFIG", None)  # listing needs no tenants: the packs' defaults
        env.pop("SENTINELKIT_TOOLS", None)
        totals = {mode: report(mode, asyncio.run(catalog(mode, env))) for mode in args.modes}
        if len(totals) == 2:
            print(f"\ncompact / full: {totals['compact'] / totals['full']:.1%} of the bytes")
        startup(args.modes, args.runs, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
