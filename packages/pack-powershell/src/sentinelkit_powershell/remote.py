"""A host in a remote runspace on a Windows machine, over WinRM with pypsrp (imported here only).

Same protocol as the local host: host.ps1 is loaded with ``-Library`` (it defines
``Invoke-SkRequest`` and friends), the user's script is loaded into the same runspace, and each call
passes the request JSON as the *value* of ``Invoke-SkRequest -Json``: pypsrp serialises it as a
CLIXML string, so nothing the caller sends becomes script text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import HostCrashed, HostStartError, HostTimeout, ProtocolError
from .hostscript import host_script_text
from .settings import RemoteSettings


def _default_pool_factory(remote: RemoteSettings) -> Any:
    from pypsrp.powershell import RunspacePool
    from pypsrp.wsman import WSMan

    from sentinelkit import register_secret

    password = remote.password.get_secret_value() if remote.password else None
    register_secret(password)  # masked in any message or log line it might reach
    wsman = WSMan(remote.host, port=remote.port, username=remote.username, password=password, ssl=remote.ssl,
                  auth=remote.auth, cert_validation=remote.cert_validation,  # type: ignore[arg-type]
                  operation_timeout=remote.operation_timeout, read_timeout=remote.read_timeout)
    return RunspacePool(wsman, configuration_name=_configuration_uri(remote.configuration_name))


def _configuration_uri(name: str) -> str:
    return name if name.startswith("http") else f"http://schemas.microsoft.com/powershell/{name}"


def _powershell(pool: Any) -> Any:
    from pypsrp.powershell import PowerShell

    return PowerShell(pool)


def _errors(ps: Any) -> list[str]:
    return [str(e) for e in getattr(ps.streams, "error", [])]


class RemoteHost:
    """One runspace pool (one runspace) on the remote host, loaded with host.ps1 and the script."""

    def __init__(self, remote: RemoteSettings, script: Path, *, load: str = "script", json_depth: int = 8,
                 pool_factory: Callable[[RemoteSettings], Any] | None = None,
                 powershell_factory: Callable[[Any], Any] | None = None) -> None:
        self.remote = remote
        self.script = Path(script)
        self.load = load
        self.json_depth = json_depth
        self._pool_factory = pool_factory or _default_pool_factory
        self._powershell = powershell_factory or _powershell
        self.pool: Any = None
        self.info: dict[str, Any] = {}
        self._current: Any = None
        self.label = f"{self.script.name} on {remote.host}"

    @property
    def alive(self) -> bool:
        return self.pool is not None

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._open)
        except HostStartError:
            await self.close()
            raise
        except Exception as exc:
            await self.close()
            raise HostStartError(
                f"could not open a PowerShell session on {self.remote.host} over WinRM "
                f"({'HTTPS' if self.remote.ssl else 'HTTP'}, auth {self.remote.auth}): {type(exc).__name__}: "
                f"{_first_line(exc)}. Check SENTINELKIT_POWERSHELL_REMOTE_HOST, the credentials in "
                "SENTINELKIT_POWERSHELL_REMOTE_USERNAME/PASSWORD, and that WinRM listens on the host") from None

    def _open(self) -> None:
        self.pool = self._pool_factory(self.remote)
        self.pool.open()
        ps = self._powershell(self.pool)
        ps.add_script(host_script_text(), use_local_scope=False).add_parameter("Library", True)
        ps.invoke()
        if ps.had_errors:
            raise HostStartError(f"host.ps1 failed to load on {self.remote.host}: "
                                 f"{'; '.join(_errors(ps))[:1000] or 'the host gave no details'}")
        text = self.script.read_text(encoding="utf-8-sig")
        ps = self._powershell(self.pool)
        if self.load == "functions":
            ps.add_cmdlet("Import-SkFunctions").add_parameter("Text", text)
        else:
            ps.add_script(text, use_local_scope=False)
        ps.invoke()
        state_failed = str(getattr(ps, "state", "")).endswith("FAILED") or getattr(ps, "state", None) == 5
        if state_failed:
            raise HostStartError(
                f"loading {self.label} failed: {'; '.join(_errors(ps))[:1000] or 'the host gave no details'}. Fix the script (or, if it runs a "
                "menu or other commands when loaded, set load = \"functions\")")
        ps = self._powershell(self.pool)
        ps.add_cmdlet("Register-SkFunctions").add_parameter("Text", text)
        names = ps.invoke()
        self.info = {"functions": [str(n) for n in names], "load_warnings": _errors(ps)[:20]}

    async def request(self, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[str]]:
        if not self.alive:
            await self.start()
        payload = json.dumps({**request, "id": 1}, ensure_ascii=True)
        try:
            output = await asyncio.wait_for(asyncio.to_thread(self._invoke, payload), timeout)
        except TimeoutError:
            await self._stop_current()
            await self.close()
            raise HostTimeout(
                f"{request.get('command')} did not finish within {timeout:g} s on {self.remote.host}; the remote "
                "session was stopped and reopens on the next call. Narrow the call, or raise the timeout") from None
        except (HostCrashed, ProtocolError):
            await self.close()
            raise
        except Exception as exc:  # transport failure: WinRM fault, connection reset, auth expired
            await self.close()
            raise HostCrashed(
                f"the remote PowerShell session on {self.remote.host} failed while running "
                f"{request.get('command')} ({type(exc).__name__}: {_first_line(exc)}); it reopens on the next call"
            ) from None
        texts = [o for o in output if isinstance(o, str)]
        if not texts:
            raise ProtocolError(f"the remote host answered {request.get('command')} without a result record")
        try:
            record = json.loads(texts[-1])
        except ValueError as exc:
            raise ProtocolError(f"the remote host sent a malformed record ({exc})") from None
        return record, []

    def _invoke(self, payload: str) -> list[Any]:
        ps = self._powershell(self.pool)
        self._current = ps
        try:
            ps.add_cmdlet("Invoke-SkRequest").add_parameter("Json", payload)
            return list(ps.invoke())
        finally:
            self._current = None

    async def _stop_current(self) -> None:
        ps = self._current
        if ps is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(ps.stop), 10)

    async def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(pool.close), 10)


def _first_line(exc: BaseException) -> str:
    from sentinelkit import redact_text

    text = str(exc).strip().splitlines()
    return redact_text(text[0])[:300] if text else "no details"
