"""``sentinelkit demo``: the README's first command must work on a fresh machine, offline; its steps come
from the installed packs, and it shows what a person should see: counts, reasoning before a write, the
confirmation, the audit record."""

from __future__ import annotations

import json
import os
import re

from sentinelkit_devkit.process import child_env, run_cli


def test_demo_tours_the_emulator_and_prints_a_claude_desktop_config(tmp_path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    env = child_env({"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}, base=clean)
    done = run_cli("demo", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[1] Installed packs and their tools" in out and "workspace_list (read-only)" in out
    assert "law-woodgrove" in out and "law-fabrikam-ops     no Sentinel" in out
    assert "starting the offline emulator" in out and "emulator ready in" in out  # progress, not silence
    steps = dict(re.findall(r"\[(\d+)\] (.+)", out))
    assert "Health check across every tenant" in steps.values()  # the health pack's step
    health = out.split("Health check across every tenant")[1].split("\n[")[0]
    assert "… 6/6 workspaces" in health and "law-northwind" in health and "critical" in health
    attention = out.split("Incidents that need attention")[1].split("\n[")[0]
    counts = re.search(r"(\d+) of (\d+) New, High-severity, unassigned incidents", attention)
    assert counts and int(counts.group(1)) <= 8 <= int(counts.group(2))
    triage = out.split("Triage one incident")[1].split("\n[")[0]
    assert "reading #" in triage and "alert:" in triage and "precedent: analysts closed" in triage
    assert "decision: close as BenignPositive" in triage  # it says why, after reading
    assert "the server asks the user: Confirm: close incident" in triage and "the demo answers: yes" in triage
    assert re.search(r"done: #\d+ is Closed", triage)
    audit = out.split("The audit log: what the write recorded")[1].split("Use it from Claude Desktop")[0]
    assert '"tool": "incident_close"' in audit and '"confirmed_by": "elicitation"' in audit
    assert '"outcome": "applied"' in audit
    config = json.loads(out[out.index("{\n", out.index("Use it from Claude Desktop")):])
    server = config["mcpServers"]["sentinel"]
    assert server["args"][-4:] == ["serve", "--emulator", "--emulator-state",
                                   str(tmp_path / "state" / "sentinelkit" / "demo-emulator.sqlite")]


def test_demo_deletes_nothing_before_it_knows_it_can_run(tmp_path) -> None:
    """An existing state file is kept when the demo cannot start (here: its folder is a file)."""
    state = tmp_path / "state" / "sentinelkit"
    state.mkdir(parents=True)
    kept = state / "demo-emulator.sqlite"
    kept.write_bytes(b"not a database")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    env = child_env({"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}, base=clean)
    done = run_cli("demo", env=env, timeout=300)
    assert done.returncode != 0
    assert kept.read_bytes() == b"not a database"
