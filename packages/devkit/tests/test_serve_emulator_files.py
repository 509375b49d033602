"""``sentinelkit serve --emulator`` removes the emulator's folder (CA, client keys, a sentinelkit.toml with
client secrets) however it stops: SIGTERM while a client still holds stdin open, or a start-up error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from sentinelkit_devkit.process import SENTINELKIT, child_env

HANDSHAKE = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "workspace_list", "arguments": {}}},
]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    return child_env({"HOME": str(tmp_path), "TMPDIR": str(tmp_path / "tmp"),
                      "SENTINELKIT_AUDIT_LOG": str(tmp_path / "audit.jsonl"), **extra}, base=clean)


def test_sigterm_with_stdin_still_open_stops_the_server_and_removes_the_emulator_folder(tmp_path: Path) -> None:
    proc = subprocess.Popen([*SENTINELKIT, "serve", "--emulator"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=_env(tmp_path))
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in HANDSHAKE).encode())
        proc.stdin.flush()
        for line in proc.stdout:
            answer = json.loads(line)
            if answer.get("id") == 2:
                break
        assert not answer["result"].get("isError"), answer  # the emulator served the call
        folders = list((tmp_path / "tmp").iterdir())
        assert [f.name.startswith("sentinelkit-emulator-") for f in folders] == [True]
        assert (folders[0] / "sentinelkit.toml").exists()
        proc.send_signal(signal.SIGTERM)  # stdin stays open, as a client that stops a server this way keeps it
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not list((tmp_path / "tmp").iterdir())


def test_a_start_up_error_leaves_no_emulator_folder(tmp_path: Path) -> None:
    config = tmp_path / "sentinelkit.toml"
    config.write_text('read_only = "maybe"\n', encoding="utf-8")
    done = subprocess.run([*SENTINELKIT, "serve", "--emulator"], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120, env=_env(tmp_path, SENTINELKIT_CONFIG=str(config)))
    assert done.returncode != 0 and "configuration error" in done.stderr
    assert not list((tmp_path / "tmp").iterdir())

