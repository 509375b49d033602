"""The shell commands and example files of the project's Markdown, run as written.

- ``bash_blocks(doc)``: the ```bash blocks of a Markdown file, each a list of ``Command`` (one per command
  line: blank lines and comments dropped, ``\\`` continuations joined)
- ``example_files(doc)``: the blocks whose first line is ``# file: <path>``, as ``{path: text}``
- ``run_block(commands, cwd=, env=)``: one block in one bash session, as a reader types it into a terminal
  (variables, a sourced file and a background job carry from line to line), each line's exit status and
  output recorded; it stops at the first failing line. ``sentinelkit serve`` lines, which serve until
  stopped, are started, asked (MCP ``initialize`` and ``tools/list`` over stdio, or ``initialize`` at the
  HTTP endpoint) and stopped, by ``python doc_commands.py serves FILE`` in that session.
- ``install_from_docs(root, where)``: a copy of the working tree (what a clone has) in ``where``, and
  docs/install.md's commands run in it: its virtual environment, the wheels and the clone's folders.

Stdlib only: the serve check runs under any Python.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\s*$")
FILE_MARK = re.compile(r"^#\s*file:\s*(\S+)\s*$")
#: a fixed port a command binds: a second test session on this machine waits for it (see ``port_lock``)
FIXED_PORT = re.compile(r"--(?:port|http)[ =](?:\S*:)?(\d{2,5})\b")


@dataclass(frozen=True)
class Command:
    doc: str  # path relative to the repository
    line: int  # 1-based line in the doc
    text: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


@dataclass
class Ran:
    command: Command
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return f"{self.command}\nexit {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


def fenced_blocks(doc: Path) -> Iterator[tuple[str, int, list[str]]]:
    """(language, line number of its first line, lines) of every fenced block."""
    lang, start, body = None, 0, []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if lang is None and fence:
            lang, start, body = fence.group(1), number + 1, []
        elif lang is not None and line.startswith("```"):
            yield lang, start, body
            lang = None
        elif lang is not None:
            body.append(line)


def bash_blocks(doc: Path) -> list[list[Command]]:
    name = doc.resolve().relative_to(ROOT).as_posix()
    blocks = []
    for lang, start, lines in fenced_blocks(doc):
        if lang != "bash":
            continue
        commands, pending, first = [], "", 0
        for offset, line in enumerate(lines):
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            first = first if pending else start + offset
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            commands.append(Command(name, first, (pending + line).strip()))
            pending = ""
        blocks.append(commands)
    return blocks


def example_files(doc: Path) -> dict[str, str]:
    files = {}
    for _, _, lines in fenced_blocks(doc):
        mark = FILE_MARK.match(lines[0]) if lines else None
        if mark:
            files[mark.group(1)] = "\n".join(lines[1:]) + "\n"
    return files


def serves(text: str) -> bool:
    """A line that serves until stopped: ``sentinelkit serve`` without ``--help``."""
    words = shlex.split(text, comments=True)
    return words[:2] == ["sentinelkit", "serve"] and "--help" not in words and "-h" not in words


@contextlib.contextmanager
def port_lock(commands: list[Command]) -> Iterator[None]:
    """Hold a lock per fixed port the block binds, so that two test sessions on one machine take turns."""
    with contextlib.ExitStack() as stack:
        for port in sorted({int(p) for c in commands for p in FIXED_PORT.findall(c.text) if int(p)}):
            handle = stack.enter_context(open(Path(tempfile.gettempdir()) / f"sentinelkit-docs-port-{port}.lock", "w"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_block(commands: list[Command], *, cwd: Path, env: dict[str, str], wrap: dict[Command, str] | None = None,
              timeout: float = 900) -> list[Ran]:
    """Run ``commands`` in one bash session; ``wrap`` gives a line a prefix inside a subshell of its own (e.g.
    ``cd`` to another folder), the line itself unchanged. Returns the lines that ran, up to the first failure."""
    work = Path(tempfile.mkdtemp(prefix="doc-block-"))
    script = ["set -u"]
    for i, command in enumerate(commands):
        body = command.text
        if serves(body):
            (work / f"{i}.sh").write_text(body + "\n", encoding="utf-8")
            body = f'"$DOCS_PYTHON" "$DOCS_HELPER" serves "{work}/{i}.sh"'
        prefix = (wrap or {}).get(command)
        if prefix:
            body = f"( {prefix}\n{body}\n)"
        script += [f"{{ {body}\n}} >'{work}/{i}.out' 2>'{work}/{i}.err' </dev/null; echo $? >'{work}/{i}.rc'",
                   f"[ \"$(cat '{work}/{i}.rc')\" = 0 ] || exit 0"]
    (work / "block.sh").write_text("\n".join(script) + "\n", encoding="utf-8")
    full_env = {**env, "DOCS_PYTHON": sys.executable, "DOCS_HELPER": str(Path(__file__).resolve())}
    try:
        with port_lock(commands):
            proc = subprocess.Popen(["bash", str(work / "block.sh")], cwd=cwd, env=full_env, start_new_session=True,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=timeout)
            finally:
                _stop_group(proc)  # and whatever the block left running in the background
        ran = []
        for i, command in enumerate(commands):
            if not (work / f"{i}.rc").exists():
                break
            rc = (work / f"{i}.rc").read_text().strip()
            ran.append(Ran(command, int(rc) if rc.isdigit() else -1, (work / f"{i}.out").read_text(errors="replace"),
                           (work / f"{i}.err").read_text(errors="replace")))
        return ran
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _stop_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """End the process group this module started for ``proc`` (and only it): SIGTERM, time to clean up (the
    emulator removes its files), then SIGKILL for whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            proc.poll()  # reaps the leader: a zombie would keep the group alive
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    proc.wait()


# -- ``sentinelkit serve`` lines ----------------------------------------------------------------------------
HANDSHAKE = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "docs", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def check_serves(line_file: Path, timeout: float = 180) -> dict[str, object]:
    """Start the line, ask it, stop it: ``{"answered": ..., "tools": n, "stderr": ...}``."""
    words = shlex.split(line_file.read_text(encoding="utf-8"), comments=True)
    http = words.index("--http") if "--http" in words else None
    proc = subprocess.Popen(["bash", str(line_file)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    found: dict[str, object] = {"answered": False}
    try:
        if http is None:
            found.update(_ask_stdio(proc, timeout))
        else:
            value = words[http + 1] if http + 1 < len(words) and not words[http + 1].startswith("-") else "8000"
            host, _, port = value.rpartition(":")
            found.update(_ask_http(proc, host.strip("[]") or "127.0.0.1", int(port), timeout))
    finally:
        _stop_group(proc)
        assert proc.stderr is not None
        found["stderr"] = proc.stderr.read().decode(errors="replace")
        found["exit"] = proc.returncode
    return found


def _ask_stdio(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in HANDSHAKE).encode())
    proc.stdin.flush()
    deadline, buffer = time.monotonic() + timeout, b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buffer += chunk
        for line in buffer.splitlines():
            message = json.loads(line) if line.strip().startswith(b"{") else {}
            if message.get("id") == 2 and "result" in message:
                return {"answered": True, "tools": len(message["result"]["tools"])}
    return {"stdout": buffer.decode(errors="replace")}


def _ask_http(proc: subprocess.Popen[bytes], host: str, port: int, timeout: float) -> dict[str, object]:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        return {}
    request = urllib.request.Request(f"http://{host}:{port}/mcp", data=json.dumps(HANDSHAKE[0]).encode(), headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read().decode()
    data = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")] or [body]
    result = json.loads(data[0]).get("result", {})
    return {"answered": bool(result.get("serverInfo")), "server": result.get("serverInfo", {}).get("name")}


# -- docs/install.md --------------------------------------------------------------------------------------
INSTALL_DOC = ROOT / "docs" / "install.md"
PUBLISHED = "# not yet published"  # the comment that marks install.md's line for later


def copy_working_tree(root: Path, where: Path) -> None:
    """What a clone of the working tree holds: tracked files as they are now, and new files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)


@functools.cache
def hatch_python() -> Path:
    """A Python that has hatch (the one running it, when the tests run under ``hatch run``)."""
    candidates = [Path(os.environ["HATCH_UV"]).parent / "python3"] if os.environ.get("HATCH_UV") else []
    candidates += [Path(sys.executable).parent / "python3", Path(getattr(sys, "_base_executable", sys.executable))]
    for python in candidates:
        if python.exists() and subprocess.run([str(python), "-c", "import hatch"], capture_output=True).returncode == 0:
            return python
    raise AssertionError(f"no Python with hatch among {candidates}: run the tests with `python3 -m hatch run test`")


def user_env(home: Path, *, venv: Path | None = None, hatch_data: Path | None = None) -> dict[str, str]:
    """A reader's shell: hatch's Python first on PATH (the README installs hatch with it), this test run's
    environment and credentials left out, ``venv`` activated; tools' caches kept (pip, hatch, uv), and hatch's
    environments where they are (``hatch run`` finds the project's) unless ``hatch_data`` is given (a
    ``hatch build`` of a copy then leaves no build environments behind)."""
    outer = os.environ.get("VIRTUAL_ENV")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if not (outer and p.startswith(outer))]
    path.insert(0, str(hatch_python().parent))
    if venv is not None:
        path.insert(0, str(venv / "bin"))
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("AZURE_", "SENTINELKIT_", "VIRTUAL_ENV", "PYTHON", "PYTEST", "HATCH_ENV"))}
    caches = {"PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip"),
              "HATCH_DATA_DIR": str(hatch_data or os.environ.get("HATCH_DATA_DIR") or _hatch_dir("data")),
              "HATCH_CACHE_DIR": os.environ.get("HATCH_CACHE_DIR") or _hatch_dir("cache"),
              "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")}
    env = {**keep, **caches, "HOME": str(home), "PATH": os.pathsep.join(path), "FASTMCP_CHECK_FOR_UPDATES": "off",
           "PIP_NO_COMPILE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
    return env


@functools.cache
def _hatch_dir(kind: str) -> str:
    done = subprocess.run([str(hatch_python()), "-m", "hatch", "config", "show"], capture_output=True, text=True)
    found = re.search(rf'^{kind} = "(.*)"', done.stdout, re.M)
    return found.group(1) if found else str(Path.home() / (".local/share/hatch" if kind == "data" else ".cache/hatch"))


def install_from_docs(root: Path, where: Path) -> dict[str, object]:
    """docs/install.md followed in a copy of the working tree: the environment first, then the wheel route
    (so that it installs into an empty environment, resolving every dependency), then the clone route
    (which reinstalls from the folders) and the devkit. A block that runs ``python3 -m hatch`` runs where
    hatch is installed, the others in the environment the first block made (``.venv``, as activated)."""
    clone = where / "clone"
    clone.mkdir(parents=True)
    copy_working_tree(root, clone)
    home = where / "home"
    home.mkdir()
    blocks = [b for b in bash_blocks(root / "docs" / "install.md") if not any(PUBLISHED in c.text for c in b)]
    venv_block, *rest = blocks
    wheels = [b for b in rest if any("dist" in shlex.split(c.text, comments=True) for c in b)
              or any("hatch build" in c.text for c in b)]
    order = [venv_block, *wheels, *[b for b in rest if b not in wheels]]
    ran: list[Ran] = []
    for block in order:
        hatch = any("python3 -m hatch" in c.text for c in block)
        venv = None if hatch or block is venv_block else clone / ".venv"
        ran += run_block(block, cwd=clone, env=user_env(home, venv=venv, hatch_data=where / "hatch-data"))
        if not ran or ran[-1].returncode != 0:
            break
    return {"clone": str(clone), "home": str(home), "venv": str(clone / ".venv"), "order": [b[0].line for b in order],
            "ran": [{"doc": r.command.doc, "line": r.command.line, "text": r.command.text, "returncode": r.returncode,
                     "stdout": r.stdout, "stderr": r.stderr} for r in ran]}


def main(argv: list[str]) -> int:
    if argv[:1] == ["serves"]:
        found = check_serves(Path(argv[1]))
        print(json.dumps(found))
        return 0 if found["answered"] else 1
    if argv[:1] == ["install"]:
        report = install_from_docs(Path(argv[1]), Path(argv[2]))
        Path(argv[3]).write_text(json.dumps(report), encoding="utf-8")
        return 0
    print("usage: doc_commands.py serves LINE_FILE | install ROOT WHERE REPORT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
