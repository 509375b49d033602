"""The PowerShell bridge: a small pool of hosts per script, timeouts, restarts and retries.

Registered with the core as the bridge ``powershell`` and created on the first tool call, so that
listing tools never starts pwsh (or imports pypsrp).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from sentinelkit import span

from .discovery import FunctionInfo
from .errors import (
    BridgeError,
    FunctionNotAllowed,
    PowerShellError,
    describe_record,
    is_transient,
)
from .protocol import CallResult
from .settings import PowerShellSettings


class Host(Protocol):
    """What the pool needs from a host: a local process or a remote runspace."""

    @property
    def alive(self) -> bool: ...

    async def start(self) -> None: ...

    async def request(self, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[str]]: ...

    async def close(self) -> None: ...


class HostPool:
    """Up to ``size`` hosts for one script, each running one request at a time; started on demand."""

    def __init__(self, factory: Callable[[], Host], size: int) -> None:
        self.factory = factory
        self.size = size
        self._idle: list[Host] = []
        self._all: list[Host] = []
        self._slots = asyncio.Semaphore(size)
        self.started = 0

    @property
    def running(self) -> int:
        return sum(1 for h in self._all if h.alive)

    async def request(self, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[str]]:
        async with self._slots:
            host = self._idle.pop() if self._idle else None
            if host is None:
                host = self.factory()
                self._all.append(host)
            try:
                if not host.alive:
                    self.started += 1
                    await host.start()
                return await host.request(request, timeout)
            finally:
                if host.alive:
                    self._idle.append(host)
                else:  # crashed, timed out or failed to start: replaced by a fresh one next time
                    if host in self._all:
                        self._all.remove(host)

    async def aclose(self) -> None:
        hosts, self._all, self._idle = list(self._all), [], []
        await asyncio.gather(*(h.close() for h in hosts), return_exceptions=True)


class PowerShellBridge:
    """Runs discovered functions; the only way in is a function name found by discovery."""

    def __init__(self, settings: PowerShellSettings, functions: dict[str, FunctionInfo],
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.settings = settings
        self.functions = {name.lower(): fn for name, fn in functions.items()}
        self._pools: dict[Path, HostPool] = {}
        self._sleep = sleep

    def _host_factory(self, script: Path) -> Callable[[], Host]:
        s = self.settings
        if s.remote is not None:
            def remote() -> Host:
                from .remote import (
                    RemoteHost,  # pypsrp is imported here, on the first remote call
                )

                assert s.remote is not None
                return RemoteHost(s.remote, script, load=s.load, json_depth=s.json_depth)

            return remote

        def local() -> Host:
            from .process import ProcessHost

            return ProcessHost(s.command(), script, load=s.load, cwd=s.working_directory,
                               start_timeout=s.start_timeout, max_output_bytes=s.max_output_bytes)

        return local

    def pool(self, script: Path) -> HostPool:
        if script not in self._pools:
            self._pools[script] = HostPool(self._host_factory(script), self.settings.pool_size)
        return self._pools[script]

    async def invoke(self, name: str, parameters: dict[str, Any], *, whatif: bool = False,
                     read_only: bool = False, secure: list[str] | None = None) -> CallResult:
        """Run one function; retry transient failures of read-only functions (1 s → 2 s → 4 s)."""
        fn = self.functions.get(name.lower())
        if fn is None:
            raise FunctionNotAllowed(f"{name!r} is not a function discovered in the configured PowerShell scripts; "
                                     "only those can be run")
        request = {"command": fn.name, "parameters": parameters, "whatif": whatif, "secure": secure or [],
                   "depth": self.settings.json_depth}
        attempts = self.settings.retries + 1 if read_only else 1
        started = time.perf_counter()
        # one span per bridge call, in the tool call's trace: the function, where it ran, never its parameters
        attributes: dict[str, str | bool] = {
            "sentinelkit.powershell.function": fn.name, "sentinelkit.powershell.whatif": whatif,
            "sentinelkit.powershell.host": "remote" if self.settings.remote is not None else "local"}
        with span(f"powershell {fn.name}", kind="client", attributes=attributes) as current:
            for attempt in range(1, attempts + 1):
                current.set_attribute("sentinelkit.powershell.attempts", attempt)
                try:
                    record, host_lines = await self.pool(fn.script).request(request, self.settings.timeout)
                    result = self._result(fn, record, host_lines)
                    result.attempts = attempt
                    result.duration_ms = (time.perf_counter() - started) * 1000
                    return result
                except (PowerShellError, BridgeError) as exc:
                    if attempt >= attempts or not getattr(exc, "transient", False):
                        if attempt > 1:
                            first, sep, rest = str(exc.args[0]).partition("\n")
                            exc.args = (f"{first} (after {attempt} attempts){sep}{rest}",)
                        raise
                    await self._sleep(self.settings.backoff * (2 ** (attempt - 1)))
        raise AssertionError("unreachable")

    def _result(self, fn: FunctionInfo, record: dict[str, Any], host_lines: list[str]) -> CallResult:
        result = CallResult.from_record(record, host_lines)
        if not record.get("ok", False):
            error = dict(record.get("error") or {"message": "the host reported a failure without details"})
            raise PowerShellError(self._message(fn, error, result), error, transient=is_transient(error))
        if result.errors and not result.output:  # Write-Error and nothing else: the call did not work
            error = dict(result.errors[0])
            raise PowerShellError(self._message(fn, error, result), error, transient=is_transient(error))
        return result

    @staticmethod
    def _message(fn: FunctionInfo, error: dict[str, Any], result: CallResult) -> str:
        text = describe_record("", error)  # the core prefixes the tool's name
        extra = [*result.warnings[-3:], *result.information[-3:]]
        if len(result.errors) > 1:
            text += f"\n({len(result.errors) - 1} more error(s): " + "; ".join(
                str(e.get("message", ""))[:200] for e in result.errors[1:4]) + ")"
        if extra:
            text += "\nlast messages: " + " | ".join(m[:300] for m in extra)
        return text

    def status(self) -> dict[str, dict[str, int]]:
        return {str(path): {"running": pool.running, "started": pool.started} for path, pool in self._pools.items()}

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(p.aclose() for p in pools), return_exceptions=True)
