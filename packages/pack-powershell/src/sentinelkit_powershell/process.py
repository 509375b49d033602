"""One long-lived host process (pwsh running host.ps1, or anything that speaks the same protocol).

The command line is configuration (``executable`` + arguments), so that the tests run the very same
code against ``python fake_host.py``. One request at a time per process; the pool runs several.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import HostCrashed, HostStartError, HostTimeout, ProtocolError
from .protocol import PROTOCOL_VERSION, decode_record, encode_request

STDERR_LINES = 40


class ProcessHost:
    """A host process for one script: start, exchange JSON lines, kill on timeout or crash."""

    def __init__(self, command: list[str], script: Path, *, load: str = "script", cwd: Path | None = None,
                 env: dict[str, str] | None = None, start_timeout: float = 120.0,
                 max_output_bytes: int = 32 * 1024 * 1024, label: str | None = None) -> None:
        self.command = list(command)
        self.script = Path(script)
        self.load = load
        self.cwd = cwd
        self.env = env
        self.start_timeout = start_timeout
        self.max_output_bytes = max_output_bytes
        self.label = label or self.script.name
        self.proc: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stderr_task: asyncio.Task[None] | None = None
        self._next_id = 0
        self.calls = 0

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def argv(self) -> list[str]:
        return [*self.command, "-ScriptPath", str(self.script), "-LoadMode", self.load]

    async def start(self) -> None:
        """Spawn the host and wait for its ready record (the script is loaded by then)."""
        argv = self.argv()
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # its own process group: a kill reaches its children
        else:  # pragma: no cover - Windows
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, cwd=self.cwd, env=self.env, limit=self.max_output_bytes, **kwargs)
        except FileNotFoundError:
            raise HostStartError(
                f"the PowerShell executable {argv[0]!r} was not found, so {self.label} cannot run. Install "
                "PowerShell 7 (https://aka.ms/powershell) or set SENTINELKIT_POWERSHELL_EXECUTABLE to the full path "
                "of pwsh; or configure a remote Windows host (SENTINELKIT_POWERSHELL_REMOTE_HOST).") from None
        except PermissionError:
            raise HostStartError(f"{argv[0]!r} cannot be executed (permission denied); check the path and its "
                                 "permissions (SENTINELKIT_POWERSHELL_EXECUTABLE)") from None
        self.stderr_tail.clear()
        self._stderr_task = asyncio.create_task(self._drain_stderr(self.proc))
        try:
            ready = await asyncio.wait_for(self._read_ready(), self.start_timeout)
        except TimeoutError:
            await self.kill()
            raise HostStartError(
                f"the PowerShell host for {self.label} did not become ready within {self.start_timeout:g} s (loading "
                "the script may hang, e.g. on a prompt or a sign-in); check the script, or raise start_timeout"
            ) from None
        except BaseException:
            await self.kill()
            raise
        self.info = ready

    async def _read_ready(self) -> dict[str, Any]:
        while True:
            record, _ = await self._read_record()
            if record is None:  # EOF before ready
                code = await self._exit_code()
                raise HostStartError(
                    f"the PowerShell host for {self.label} exited (code {code}) before it was ready"
                    + self._stderr_hint())
            if record.get("type") != "ready":
                continue
            if not record.get("ok", True):
                from .errors import describe_record

                error = record.get("error") or {}
                first, _, position = describe_record("", error).partition("\n")
                raise HostStartError(
                    f"loading {self.label} failed: {first.removeprefix('PowerShell error: ')}. Fix the script (or, if "
                    "it runs a menu or other commands when loaded, set load = \"functions\")"
                    + (f"\n{position}" if position else ""))
            if int(record.get("protocol", PROTOCOL_VERSION)) != PROTOCOL_VERSION:
                raise HostStartError(f"the host for {self.label} speaks protocol {record.get('protocol')}, "
                                     f"this bridge speaks {PROTOCOL_VERSION}; reinstall sentinelkit-powershell")
            return record

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(Exception):
            while True:
                line = await proc.stderr.readline()
                if not line:
                    return
                self.stderr_tail.append(line.decode("utf-8", errors="replace").rstrip())

    def _stderr_hint(self) -> str:
        from sentinelkit import redact_text

        lines = [line for line in self.stderr_tail if line.strip()][-5:]
        return ("; its last error output: " + redact_text(" | ".join(lines))[:1500]) if lines else ""

    async def _exit_code(self) -> int | None:
        if self.proc is None:
            return None
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.proc.wait(), 5)
        return None

    async def kill(self) -> None:
        """Stop the process (and its process group) now; the next call starts a fresh one."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                if os.name == "posix":
                    os.killpg(proc.pid, signal.SIGKILL)
                else:  # pragma: no cover - Windows
                    proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 10)
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(BaseException):
                await self._stderr_task
            self._stderr_task = None
        for stream in (proc.stdin,):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()

    async def close(self) -> None:
        """Ask the host to exit (end of input), then make sure it did."""
        proc = self.proc
        if proc is not None and proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
                await asyncio.wait_for(proc.wait(), 3)
        await self.kill()

    # -- calls --------------------------------------------------------------------------------
    async def _read_record(self) -> tuple[dict[str, Any] | None, list[str]]:
        """The next protocol record and the stray console lines before it; (None, lines) at EOF."""
        assert self.proc is not None and self.proc.stdout is not None
        stray: list[str] = []
        while True:
            try:
                line = await self.proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                await self.kill()
                raise ProtocolError(
                    f"the output of the call is larger than {self.max_output_bytes // (1024 * 1024)} MiB, the limit "
                    f"(max_output_bytes); the host for {self.label} was restarted. Narrow the call (filters, fewer "
                    "days, a single item) or raise the limit") from None
            if not line:
                return None, stray
            try:
                record = decode_record(line)
            except ValueError as exc:
                await self.kill()
                raise ProtocolError(f"the host for {self.label} sent a malformed record ({exc}); it was restarted"
                                    ) from None
            if record is None:
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                if text.strip() and len(stray) < 1000:
                    stray.append(text[:4000])
                continue
            return record, stray

    async def request(self, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[str]]:
        """Send one request, wait for its answer; kill the host on timeout, crash or cancellation."""
        if not self.alive:
            await self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        request = {**request, "id": self._next_id}
        self.calls += 1
        try:
            return await asyncio.wait_for(self._exchange(request), timeout)
        except TimeoutError:
            await self.kill()
            raise HostTimeout(
                f"{request.get('command')} did not finish within {timeout:g} s; the PowerShell host was stopped and "
                "starts again on the next call. Narrow the call, or raise the timeout "
                "(SENTINELKIT_POWERSHELL_TIMEOUT)") from None
        except (HostCrashed, ProtocolError):
            raise
        except BaseException:  # cancelled mid-call: the host's state is unknown
            await self.kill()
            raise

    async def _exchange(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(encode_request(request))
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            await self._crashed(request)
        host_lines: list[str] = []
        while True:
            record, stray = await self._read_record()
            host_lines.extend(stray)
            if record is None:
                await self._crashed(request)
                raise AssertionError("unreachable")
            if record.get("type") == "result" and record.get("id") == request["id"]:
                return record, host_lines

    async def _crashed(self, request: dict[str, Any]) -> None:
        code = await self._exit_code()
        hint = self._stderr_hint()
        await self.kill()
        raise HostCrashed(
            f"the PowerShell host for {self.label} exited (code {code}) while running {request.get('command')}; "
            f"it starts again on the next call{hint}")


def python_host_command(script: str | Path) -> list[str]:
    """``[python, script]``: how the tests point the bridge at the fake host."""
    return [sys.executable, str(script)]
