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
    for name in ("sentinelkit", "sentinelkit_emulator"):
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
async def serve_stdio(env: dict[str, str], *args: str, elicit: Any = None) -> AsyncIterator[Any]:
    """``sentinelkit serve`` (with ``args``, e.g. ``--read-only``) in a subprocess, connected to the mcp SDK's
    stdio client (protocol 2025-11-25; ``elicit`` answers confirmations): an initialized ``ClientSession``."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "sentinelkit.cli", "serve", *args],
                                   env=child_env(env))
    async with stdio_client(params) as (read, write), ClientSession(read, write, elicitation_callback=elicit) as session:
        await session.initialize()
        yield session
