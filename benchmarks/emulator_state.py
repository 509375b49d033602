"""Emulator state file benchmark: the way Claude Desktop runs ``sentinelkit serve --emulator --emulator-state``.

Each session spawns the server through the mcp SDK's ``stdio_client``, times the start-up (spawn to
the ``initialize`` answer), checks that the comment the previous session added is there, adds one,
closes (the SDK closes stdin, waits 2 s, then SIGTERMs and SIGKILLs what is left) and times how long
the server took to go. Prints per-session figures, the state file's size (with SQLite's side files)
and what the sessions left in their temporary directory.

    python benchmarks/emulator_state.py [--sessions 5]

A state file is made first by the standalone emulator (``sentinelkit-emulator --state-file``,
stopped with SIGTERM), so that the first session already starts from one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKSPACE = "law-fabrikam-prod"
INCIDENT = "1"


def _env(root: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**clean, "HOME": str(root), "TMPDIR": str(tmp), "SENTINELKIT_AUDIT_LOG": str(root / "audit.jsonl"),
            "FASTMCP_CHECK_FOR_UPDATES": "off", "FASTMCP_SHOW_SERVER_BANNER": "false"}


def _size(state: Path) -> int:
    return sum(p.stat().st_size for p in state.parent.glob(state.name + "*") if p.is_file())


def make_state_with_standalone_emulator(state: Path, env: dict[str, str]) -> float:
    """Start and stop (SIGTERM) ``sentinelkit-emulator --state-file``; returns the seconds it took to stop."""
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit_emulator", "--state-file", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return time.perf_counter() - start


def _text(result: Any) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def session(state: Path, env: dict[str, str], n: int) -> dict[str, Any]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client import stdio

    spawned: list[Any] = []
    create = stdio._create_platform_compatible_process

    async def recording_create(*args: Any, **kwargs: Any) -> Any:
        spawned.append(await create(*args, **kwargs))
        return spawned[-1]

    stdio._create_platform_compatible_process = recording_create  # type: ignore[assignment]
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "sentinelkit.cli", "serve", "--emulator", "--emulator-state", str(state)],
                                   env=env)
    start = time.perf_counter()
    try:
        with open(os.devnull, "w") as errlog:
            async with stdio.stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as client:
                    await client.initialize()
                    started = time.perf_counter() - start
                    listed = _text(await client.call_tool(
                        "incident_comment_list", {"workspace": WORKSPACE, "incident_id": INCIDENT, "limit": 100}))
                    messages = {c.get("message") for c in listed.get("comments", listed.get("items", []))}
                    seen_previous = n == 0 or f"benchmark session {n - 1}" in messages
                    added = await client.call_tool("incident_comment_add", {
                        "workspace": WORKSPACE, "incident_id": INCIDENT, "message": f"benchmark session {n}"})
                    assert not added.is_error, added
                closing = time.perf_counter()
    finally:
        stdio._create_platform_compatible_process = create  # type: ignore[assignment]
    proc = spawned[0]
    return {"startup_s": started, "close_s": time.perf_counter() - closing, "returncode": proc.returncode,
            "saw_previous_change": seen_previous, "state_bytes": _size(state)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="emulator-state-bench-") as folder:
        root = Path(folder)
        env = _env(root)
        state = root / "state" / "emulator-state"
        state.parent.mkdir()
        stop = make_state_with_standalone_emulator(state, env)
        print(f"standalone emulator: stopped in {stop:.2f} s, state file {_size(state) / 1e6:.2f} MB")
        rows = []
        for n in range(args.sessions):
            row = asyncio.run(session(state, env, n))
            rows.append(row)
            print(json.dumps({"session": n, **{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}}))
        startups = [r["startup_s"] for r in rows]
        print(f"start-up with a state file: median {statistics.median(startups):.2f} s "
              f"(min {min(startups):.2f}, max {max(startups):.2f}); "
              f"close: median {statistics.median(r['close_s'] for r in rows):.2f} s; "
              f"sessions that saw the previous change: {sum(r['saw_previous_change'] for r in rows)}/{len(rows)}; "
              f"state file {_size(state) / 1e6:.3f} MB")
        left = sorted(str(p.relative_to(root)) for p in (root / "tmp").rglob("*"))
        left += sorted(str(p.relative_to(root)) for p in state.parent.glob("*.tmp"))
        print(f"left behind: {len(left)} paths" + (f": {left[:10]}" if left else ""))


if __name__ == "__main__":
    main()
