"""Running the real ``sentinelkit`` command in a subprocess, as a user would (for pack authors' tests too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

SENTINELKIT = [sys.executable, "-m", "sentinelkit.cli"]


def child_env(extra: dict[str, str] | None = None, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child, with the source trees it imports from on PYTHONPATH
    (so that the tests also work from a checkout that is not pip-installed)."""
    import importlib

    roots = []
    for name in ("sentinelkit", "sentinelkit_emulator", "sentinelkit_devkit"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        roots.append(str(Path(str(module.__file__)).resolve().parent.parent))
    env = {**(os.environ if base is None else base), **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([*(env.get("PYTHONPATH", "").split(os.pathsep)), *roots]))
    env["PYTHONPATH"] = env["PYTHONPATH"].strip(os.pathsep)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = child_env(env)
    return subprocess.run([*SENTINELKIT, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def cli_json(*args: str, env: dict[str, str] | None = None) -> Any:
    done = run_cli(*args, env=env)
    assert done.stdout, f"no output; stderr:\n{done.stderr}"
    return json.loads(done.stdout)


@asynccontextmanager
async def stdio_session(env: dict[str, str], *args: str, elicit: Any = None) -> AsyncIterator[Any]:
    """``sentinelkit serve`` (with ``args``, e.g. ``--read-only``) as a subprocess, and an initialized mcp SDK
    ``ClientSession`` to it over stdio (the 2025-11-25 handshake); ``elicit`` answers confirmations
    (``elicitation_callback``)."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve", *args],
                                   env=child_env(env))
    async with stdio_client(params) as (read, write), ClientSession(read, write, elicitation_callback=elicit) as session:
        await session.initialize()
        yield session


def result_json(result: Any) -> Any:
    """The JSON of a successful tool result of the mcp SDK client (structured content, else the first text)."""
    assert not result.is_error, result.content
    return result.structured_content if result.structured_content is not None else json.loads(result.content[0].text)


def serve_pids() -> list[int]:
    """The ``sentinelkit serve`` processes this process started (Linux ``/proc``): to kill one in a test of an
    interruption, or to read its memory in a benchmark."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"sentinelkit.cli\0serve" in cmdline:
            found.append(int(entry.name))
    return found
