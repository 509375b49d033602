"""Emulator state file benchmark: ``sentinelkit serve --emulator --emulator-state FILE`` run the way Claude Desktop runs it.

Sessions: each spawns the server through the mcp SDK's ``stdio_client``, times the start-up (spawn to
the ``initialize`` answer), checks that the comment the previous session added is there, adds one,
closes (the SDK closes stdin, waits 2 s, then SIGTERMs and SIGKILLs what is left) and times how long
the server took to go. Prints per-session figures, the state file's size (with any side files) and
what the sessions left in their temporary directory.

Start-up (``--startup-runs N``): spawn to the ``tools/list`` answer, wall and CPU time of the server
process, with a state file that this version's standalone emulator wrote. With ``--before DIR`` (the
``packages/*/src`` of another version, e.g. ``git archive <commit> packages/core/src
packages/emulator/src | tar -x -C DIR``) the runs alternate between that version and this one, each with
a state file of its own version, so that machine noise hits both alike.

    python benchmarks/emulator_state.py [--sessions 5] [--startup-runs 7] [--before DIR]
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
LIST_TOOLS = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "state-bench", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
]


def _env(root: Path, source: Path | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**clean, "HOME": str(root), "TMPDIR": str(tmp), "SENTINELKIT_AUDIT_LOG": str(root / "audit.jsonl"),
           "FASTMCP_CHECK_FOR_UPDATES": "off", "FASTMCP_SHOW_SERVER_BANNER": "false"}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(source / "packages" / p / "src") for p in ("core", "emulator"))
    return env


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

    stdio._create_platform_compatible_process = recording_create
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
                    messages = {c.get("message") for c in listed.get("comments", [])}
                    seen_previous = n == 0 or f"benchmark session {n - 1}" in messages
                    added = await client.call_tool("incident_comment_add", {
                        "workspace": WORKSPACE, "incident_id": INCIDENT, "message": f"benchmark session {n}"})
                    assert not added.is_error, added
                closing = time.perf_counter()
    finally:
        stdio._create_platform_compatible_process = create
    return {"startup_s": started, "close_s": time.perf_counter() - closing, "returncode": spawned[0].returncode,
            "saw_previous_change": seen_previous, "state_bytes": _size(state)}


def time_to_tools_list(state: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the server) from spawn to the ``tools/list`` answer."""
    proc = subprocess.Popen([sys.executable, "-m", "sentinelkit.cli", "serve", "--emulator", "--emulator-state",
                             str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env)
    assert proc.stdin and proc.stdout
    start = time.perf_counter()
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in LIST_TOOLS).encode())
    proc.stdin.flush()
    for line in proc.stdout:
        if json.loads(line).get("id") == 2:
            break
    wall = time.perf_counter() - start
    proc.send_signal(signal.SIGKILL)  # what happens at exit is not start-up (and an old version saves at exit)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = -signal.SIGKILL
    return wall, usage.ru_utime + usage.ru_stime


def startup(root: Path, runs: int, before: Path | None) -> None:
    versions = {"this version": None, **({f"before ({before})": before} if before else {})}
    states, envs = {}, {}
    for i, (name, source) in enumerate(versions.items()):
        home = root / f"startup-{i}"
        home.mkdir()
        envs[name] = _env(home, source)
        states[name] = home / "state"
        make_state_with_standalone_emulator(states[name], envs[name])
        print(f"{name}: state file after a start and a stop: {_size(states[name]) / 1e6:.2f} MB")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
    names = list(versions)
    for run in range(runs):
        for name in names if run % 2 == 0 else reversed(names):
            results[name].append(time_to_tools_list(states[name], envs[name]))
    for name, rows in results.items():
        wall, cpu = [w for w, _ in rows], [c for _, c in rows]
        print(f"{name}: start-up to tools/list with a state file: wall median {statistics.median(wall):.2f} s "
              f"(min {min(wall):.2f}), CPU median {statistics.median(cpu):.2f} s (min {min(cpu):.2f}), {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5, help="Claude Desktop-like sessions (0: none)")
    parser.add_argument("--startup-runs", type=int, default=0, help="start-up timings per version")
    parser.add_argument("--before", type=Path, help="another version's source tree (packages/*/src) to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="emulator-state-bench-") as folder:
        root = Path(folder)
        if args.startup_runs:
            startup(root, args.startup_runs, args.before)
        if not args.sessions:
            return
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
        print(f"sessions: start-up median {statistics.median(startups):.2f} s (min {min(startups):.2f}, "
              f"max {max(startups):.2f}); close: median {statistics.median(r['close_s'] for r in rows):.2f} s; "
              f"saw the previous change: {sum(r['saw_previous_change'] for r in rows)}/{len(rows)}; "
              f"state file {_size(state) / 1e6:.3f} MB")
        left = sorted(str(p.relative_to(root)) for p in (root / "tmp").rglob("*"))
        left += sorted(str(p.relative_to(root)) for p in state.parent.glob("*") if p != state)
        print(f"left behind: {len(left)} paths" + (f": {left[:10]}" if left else ""))


if __name__ == "__main__":
    main()
