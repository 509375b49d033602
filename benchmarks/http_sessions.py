"""What idle and stalled HTTP clients cost a ``sentinelkit serve --http`` process, and what frees it:
200 MCP sessions opened (initialize, tools/list, one tool call) and left idle, with the mcp SDK's default idle timeout
(30 minutes: they stay) and with ``[http] session_idle_timeout`` (they are closed); then 200 connections
that never finish their request headers, cut after ``[http] header_timeout``. Prints the server's
resident memory (VmRSS) at each step and how many sessions and connections are still open.

    python benchmarks/http_sessions.py [--sessions 200] [--idle-timeout 10] [--header-timeout 3]

Everything runs on 127.0.0.1: the emulator in its own process, the server as a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}}}
ACCEPT = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_sessions(url: str, count: int) -> list[str]:
    import httpx

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=20)) as http:
        async def one() -> str:
            answer = await http.post(url, json=INITIALIZE, headers=ACCEPT)
            session = answer.headers["mcp-session-id"]
            headers = {**ACCEPT, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
            await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
            # what a client does first: list the tools, and call one
            await http.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
            await http.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                       "params": {"name": "workspace_list", "arguments": {}}}, headers=headers)
            return session

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def alive(url: str, sessions: list[str]) -> int:
    import httpx

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=20)) as http:
        async def ping(session: str) -> bool:
            answer = await http.post(url, json={"jsonrpc": "2.0", "id": 9, "method": "ping"},
                                     headers={**ACCEPT, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
            return answer.status_code == 200

        return sum(await asyncio.gather(*(ping(s) for s in sessions)))


def serve(env: dict[str, str], folder: Path, extra: str) -> tuple[object, int]:
    from sentinelkit_devkit.services import free_port, start_replica

    config = folder / f"http-{time.monotonic_ns()}.toml"
    config.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + f"\n[http]\n{extra}\n")
    port = free_port()
    return start_replica({**env, "SENTINELKIT_CONFIG": str(config)}, port, log=folder / f"server-{port}.log"), port


def sessions_case(env: dict[str, str], folder: Path, count: int, idle: float | None) -> None:
    from sentinelkit_devkit.services import stop

    setting = f"session_idle_timeout = {idle}" if idle else "session_idle_timeout = 1800  # the mcp SDK's default"
    proc, port = serve(env, folder, setting)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        asyncio.run(open_sessions(url, 5))  # warm: imports, the first session
        base = rss_mb(proc.pid)  # type: ignore[attr-defined]
        sessions = asyncio.run(open_sessions(url, count))
        held = rss_mb(proc.pid)  # type: ignore[attr-defined]
        label = f"idle timeout {idle:g} s" if idle else "idle timeout 1800 s (SDK default)"
        print(f"{label}: {base:.0f} MB before, {held:.0f} MB with {count} idle sessions "
              f"(+{held - base:.0f} MB, {(held - base) * 1024 / count:.0f} KB each)")
        if idle:
            time.sleep(idle + 5)
            still = asyncio.run(alive(url, sessions))
            after = rss_mb(proc.pid)  # type: ignore[attr-defined]
            print(f"  {idle + 5:g} s later: {still} of {count} sessions still open, {after:.0f} MB resident "
                  "(freed memory returns to the allocator, not always to the system)")
            asyncio.run(open_sessions(url, count))
            again = rss_mb(proc.pid)  # type: ignore[attr-defined]
            time.sleep(idle + 5)
            asyncio.run(open_sessions(url, count))
            third = rss_mb(proc.pid)  # type: ignore[attr-defined]
            print(f"  two more waves of {count} sessions, each left to expire: {again:.0f} MB, then {third:.0f} MB "
                  "resident (the memory of closed sessions is reused: it does not grow with every wave)")
    finally:
        stop(proc)  # type: ignore[arg-type]


def stalled_case(env: dict[str, str], folder: Path, count: int, header_timeout: float) -> None:
    from sentinelkit_devkit.services import stop

    proc, port = serve(env, folder, f"header_timeout = {header_timeout}")
    socks = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            s.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())  # and never the rest
            socks.append(s)
        held = rss_mb(proc.pid)  # type: ignore[attr-defined]
        time.sleep(header_timeout + 3)
        closed = 0
        for s in socks:
            s.settimeout(5)
            try:
                closed += s.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                pass
        print(f"header timeout {header_timeout:g} s: {count} connections that never finish their headers "
              f"({held:.0f} MB resident); {header_timeout + 3:g} s later the server had closed {closed} of them")
    finally:
        for s in socks:
            s.close()
        stop(proc)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--idle-timeout", type=float, default=10)
    parser.add_argument("--header-timeout", type=float, default=3)
    args = parser.parse_args()
    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
    sys.path.insert(0, str(Path(__file__).parent))
    from hosted import start_emulator
    from sentinelkit_devkit.emulator import emulator_environment

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        emulator, info = start_emulator(folder)
        try:
            env = emulator_environment(info, folder)
            env["LOG_LEVEL"] = "WARNING"
            sessions_case(env, folder, args.sessions, None)
            sessions_case(env, folder, args.sessions, args.idle_timeout)
            stalled_case(env, folder, args.sessions, args.header_timeout)
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
