"""Start-up benchmark: time from process spawn to the answer of ``tools/list``.

Compares ``sentinelkit serve`` (stdio, every installed pack) with a bare FastMCP server that has one
tool, in the same run, alternating the two so that machine noise hits both alike, and prints the
median of each and their ratio (target: ≤ 0.9) — as a ratio of medians, the median of the per-pair
ratios (most robust on a busy machine) and the ratio of the best runs — and the same for the CPU time
each process used until it answered (which other processes on a busy machine disturb less), with the
machine's load average.

    python benchmarks/startup.py [--runs 15]

The client is a minimal JSON-RPC writer: it sends ``initialize``, ``notifications/initialized`` and
``tools/list`` immediately after spawning and stops the clock when the ``tools/list`` response
arrives, so the figure is the server's start-up plus one listing, not a client library's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = '''
from fastmcp import FastMCP
mcp = FastMCP("bare")

@mcp.tool
def ping(text: str) -> str:
    """Echo the text."""
    return text

mcp.run(transport="stdio", show_banner=False)
'''

MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "startup-bench", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn_to_tools_list(cmd: list[str], env: dict[str, str]) -> tuple[float, bytes, float]:
    """Seconds from spawning ``cmd`` to its ``tools/list`` response, that response's line as sent, and the
    CPU seconds the process used until then."""
    payload = "".join(json.dumps(m) + "\n" for m in MESSAGES).encode()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin and proc.stdout
    proc.stdin.write(payload)
    proc.stdin.flush()
    try:
        for line in proc.stdout:
            if json.loads(line).get("id") == 2:
                return time.perf_counter() - start, line, cpu_seconds(proc.pid)
        raise RuntimeError(f"{cmd} exited without answering tools/list")
    finally:
        proc.kill()
        proc.wait()


def time_to_tools_list(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    elapsed, line, cpu = spawn_to_tools_list(cmd, env)
    return elapsed, len(json.loads(line)["result"]["tools"]), cpu


# heavy, and not needed to answer tools/list (key_value and beartype: FastMCP's session store; griffe: its
# docstring parser; the OpenTelemetry SDK and exporters: installed with the otel extra, loaded only when
# telemetry is configured)
HEAVY = ("azure", "aiohttp", "structlog", "duckdb", "duckdb_kql", "pypsrp", "msal", "key_value", "beartype", "griffe",
         "opentelemetry.sdk", "opentelemetry.exporter")


def heavy_imports(cmd: list[str], env: dict[str, str]) -> list[str]:
    """Run once under ``python -X importtime``: which heavy top-level packages did serving tools/list import?"""
    payload = "".join(json.dumps(m) + "\n" for m in MESSAGES).encode()
    with tempfile.TemporaryFile() as errlog:  # a file, not a pipe: importtime writes more than a pipe holds
        proc = subprocess.Popen([cmd[0], "-X", "importtime", *cmd[1:]], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errlog, env=env)
        assert proc.stdin and proc.stdout
        proc.stdin.write(payload)
        proc.stdin.flush()
        for line in proc.stdout:
            if json.loads(line).get("id") == 2:
                break
        proc.kill()
        proc.wait()
        errlog.seek(0)
        err = errlog.read()
    found = set()
    for line in err.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            heavy = next((h for h in HEAVY if name == h or name.startswith(h + ".")), None)
            if heavy:
                found.add(heavy)
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "FASTMCP_CHECK_FOR_UPDATES": "off", "FASTMCP_SHOW_SERVER_BANNER": "false",
           "PYTHONDONTWRITEBYTECODE": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        env.setdefault("SENTINELKIT_CONFIG", "")
        if not env["SENTINELKIT_CONFIG"]:
            env.pop("SENTINELKIT_CONFIG")
        bare = Path(tmp) / "bare_server.py"
        bare.write_text(BARE)
        commands = {
            "bare FastMCP (1 tool)": [sys.executable, str(bare)],
            "sentinelkit serve": [sys.executable, "-m", "sentinelkit.cli", "serve"],
        }
        for cmd in commands.values():  # warm the bytecode caches
            time_to_tools_list(cmd, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        counts: dict[str, int] = {}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                elapsed, tools, cpu = time_to_tools_list(cmd, env)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                counts[name] = tools
    medians = {name: statistics.median(values) for name, values in times.items()}
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average {load}")
    for name, median in medians.items():
        spread = f"{min(times[name]) * 1000:.0f}-{max(times[name]) * 1000:.0f}"
        print(f"{name:<24} {counts[name]:>3} tools   median {median * 1000:7.1f} ms   (range {spread} ms, {args.runs} runs)"
              f"   CPU median {statistics.median(cpus[name]) * 1000:6.0f} ms")
    heavy = heavy_imports(commands["sentinelkit serve"], env)
    print("heavy modules imported before tools/list: " + (", ".join(heavy) if heavy else "none"))
    ratio = medians["sentinelkit serve"] / medians["bare FastMCP (1 tool)"]
    best = min(times["sentinelkit serve"]) / min(times["bare FastMCP (1 tool)"])
    paired = statistics.median(s / b for s, b in zip(times["sentinelkit serve"], times["bare FastMCP (1 tool)"],
                                                      strict=True))
    print(f"ratio sentinelkit / bare: {ratio:.2f}x of medians, {paired:.2f}x median of paired runs, "
          f"{best:.2f}x of best runs (target <= 0.90x)")
    cpu_ratio = statistics.median(cpus["sentinelkit serve"]) / statistics.median(cpus["bare FastMCP (1 tool)"])
    cpu_paired = statistics.median(s / b for s, b in zip(cpus["sentinelkit serve"], cpus["bare FastMCP (1 tool)"],
                                                         strict=True))
    print(f"CPU time until tools/list, sentinelkit / bare: {cpu_ratio:.2f}x of medians, {cpu_paired:.2f}x median of "
          "paired runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
