"""A stand-in for host.ps1 that speaks the same protocol, for machines without pwsh.

Started exactly like the real host (``<command> -ScriptPath X -LoadMode script``), it "loads" the
script by finding its functions, answers a ready record, then one RFC 7464 record per request.
What a function does is chosen by its name:

- ``Get-Slow``: sleeps ``Seconds`` (a timeout test)
- ``Get-Crash`` / ``Remove-Crash``: the process exits mid-call with code 9
- ``Get-Flaky``: fails with a transient error (HTTP 503) the first ``FailTimes`` calls per ``Key``
  (counted in ``$FAKE_HOST_STATE``, so that the count survives restarts), then succeeds
- ``Get-Forbidden``: fails with a permanent error (HTTP 403)
- ``Get-Huge``: ``Count`` items of ``Size`` characters each
- ``Get-Echo``: returns the parameters exactly as received (unicode, injection-looking strings)
- ``Get-Noisy``: writes stray console lines (no record separator) around its answer
- ``Get-WriteError``: only non-terminating errors, no output
- ``Get-Pid``: the host's process id
- ``*-...`` with ``whatif``: the "What if:" console line, and no change
- anything else the script defines: echoes the command and parameters as one output object

``FAKE_HOST_LOG``: append every raw request line to this file. ``FAKE_HOST_FAIL_LOAD``: fail loading.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

RS = "\x1e"


def emit(record: dict) -> None:
    sys.stdout.write(RS + json.dumps(record, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def error(message: str, category: str = "NotSpecified", error_id: str = "RuntimeException", exc: str = "System.Management.Automation.RuntimeException",
          line: int | None = None, command: str | None = None) -> dict:
    return {"message": message, "category": category, "error_id": error_id, "exception_type": exc,
            "position": f"At {SCRIPT}:{line or 1} char:5\n+     throw ...\n+     ~~~~~~~~~" if line else None,
            "script_line": line, "command": command}


def args() -> tuple[list[str], str]:
    argv = sys.argv[1:]
    scripts: list[str] = []
    mode = "script"
    i = 0
    while i < len(argv):
        if argv[i] == "-ScriptPath":
            scripts.append(argv[i + 1])
            i += 2
        elif argv[i] == "-LoadMode":
            mode = argv[i + 1]
            i += 2
        else:
            i += 1
    return scripts, mode


def functions_of(text: str) -> dict[str, set[str]]:
    """Function name → parameter names (case-insensitive), like PowerShell's parameter binder knows."""
    out: dict[str, set[str]] = {}
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
        from sentinelkit_powershell.discovery import parse_script

        info = parse_script(Path(SCRIPT), text.encode())
        for fn in info.functions:
            if not fn.nested:
                names = {p.name.lower() for p in fn.params}
                out[fn.name.lower()] = names | {"whatif"} if fn.supports_should_process else names
        return out
    except ImportError:
        for name in re.findall(r"^\s*function\s+([\w-]+)", text, re.MULTILINE | re.IGNORECASE):
            out[name.lower()] = set()
        return out


SCRIPT = ""


def main() -> int:
    global SCRIPT
    scripts, mode = args()
    SCRIPT = scripts[0] if scripts else ""
    if os.environ.get("FAKE_HOST_FAIL_LOAD"):
        emit({"type": "ready", "ok": False, "protocol": 1,
              "error": error(os.environ["FAKE_HOST_FAIL_LOAD"], "ParserError", "LoadFailed", line=3)})
        return 3
    try:
        text = Path(SCRIPT).read_text(encoding="utf-8-sig")
    except OSError as exc:
        emit({"type": "ready", "ok": False, "protocol": 1,
              "error": error(f"Cannot find path '{SCRIPT}' because it does not exist. ({exc.strerror})",
                             "ObjectNotFound", "PathNotFound,Microsoft.PowerShell.Commands.ResolvePathCommand")})
        return 3
    known = functions_of(text)
    names = {n: n for n in known}
    emit({"type": "ready", "ok": True, "protocol": 1, "pid": os.getpid(), "powershell": "fake-7.4",
          "edition": "Fake", "functions": sorted(names), "load_mode": mode})
    log = os.environ.get("FAKE_HOST_LOG")
    for line in sys.stdin:
        if not line.strip():
            continue
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(line)
        request = json.loads(line)
        emit(answer(request, known))
    return 0


def answer(request: dict, known: dict[str, set[str]]) -> dict:
    rid = request.get("id")
    name = str(request.get("command", ""))
    params = request.get("parameters") or {}
    base = {"type": "result", "id": rid, "ok": True, "output": [], "errors": [], "warnings": [], "information": [],
            "verbose": []}
    if name.lower() not in known:
        return {**base, "ok": False, "error": error(f"'{name}' is not a function of the loaded script",
                                                    "ObjectNotFound", "CommandNotFoundException")}
    unknown = [k for k in params if k.lower() not in known[name.lower()]]
    if unknown:
        return {**base, "ok": False, "error": error(
            f"A parameter cannot be found that matches parameter name '{unknown[0]}'.", "InvalidArgument",
            f"NamedParameterNotFound,{name}", "System.Management.Automation.ParameterBindingException")}
    lowered = name.lower()
    if request.get("whatif"):
        target = next(iter(params.values()), "target")
        print(f'What if: Performing the operation "{name}" on target "{target}".', flush=True)
        return base
    if lowered == "get-slow":
        time.sleep(float(params.get("Seconds", 60)))
        return {**base, "output": ["finally"]}
    if lowered in ("get-crash", "remove-crash"):
        sys.stderr.write("Fatal error. System.AccessViolationException: simulated crash\n")
        sys.stderr.flush()
        os._exit(9)
    if lowered in ("get-flaky", "set-flaky"):
        state = Path(os.environ.get("FAKE_HOST_STATE", tempfile.gettempdir())) / f"flaky-{params.get('Key', 'default')}"
        count = int(state.read_text()) if state.exists() else 0
        state.write_text(str(count + 1))
        if count < int(params.get("FailTimes", 1)):
            return {**base, "ok": False, "error": error(
                "Response status code does not indicate success: 503 (Service Unavailable).", "InvalidOperation",
                "WebCmdletWebResponseException,Microsoft.PowerShell.Commands.InvokeRestMethodCommand",
                "Microsoft.PowerShell.Commands.HttpResponseException", line=42, command="Invoke-RestMethod")}
        return {**base, "output": [{"attempt": count + 1}]}
    if lowered == "get-forbidden":
        return {**base, "ok": False, "error": error(
            "Response status code does not indicate success: 403 (Forbidden).", "InvalidOperation",
            "WebCmdletWebResponseException,Microsoft.PowerShell.Commands.InvokeRestMethodCommand",
            "Microsoft.PowerShell.Commands.HttpResponseException", line=51, command="Invoke-RestMethod")}
    if lowered == "get-huge":
        size, count = int(params.get("Size", 1000)), int(params.get("Count", 1))
        return {**base, "output": [{"i": i, "data": "x" * size} for i in range(count)]}
    if lowered == "get-echo":
        return {**base, "output": [params], "information": [f"received {len(params)} parameter(s)"]}
    if lowered == "get-noisy":
        print("stray console line before the answer", flush=True)
        sys.stdout.write("another one, written without a newline flush\n")
        return {**base, "output": ["ok"], "warnings": ["a warning"], "information": ["Write-Host says hello"]}
    if lowered == "get-writeerror":
        return {**base, "errors": [error("Table 'Nope_CL' was not found.", "ObjectNotFound", "Microsoft.PowerShell.Commands.WriteErrorException,Get-WriteError", line=12)]}
    if lowered == "get-pid":
        return {**base, "output": [os.getpid()]}
    return {**base, "output": [{"command": name, "parameters": params}],
            "information": [f"{name} done."]}


if __name__ == "__main__":
    raise SystemExit(main())
