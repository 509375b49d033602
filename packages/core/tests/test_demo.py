"""``sentinelkit demo``: the README's first command must work on a fresh machine, offline."""

from __future__ import annotations

import json
import os

from sentinelkit.testing.process import child_env, run_cli


def test_demo_tours_the_emulator_and_prints_a_claude_desktop_config(tmp_path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "SENTINELKIT_"))}
    env = child_env({"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}, base=clean)
    done = run_cli("demo", env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[1] Installed packs and their tools" in out and "workspace_list (read-only)" in out
    assert "law-woodgrove" in out and "law-fabrikam-ops     no Sentinel" in out
    for step in ("Health check across every tenant", "Incidents that need attention",
                 "A write that asks for confirmation"):
        assert step in out
    if "sentinel_health_check" in out:  # the health pack is installed: its findings are shown
        assert "law-northwind" in out.split("[3]")[1].split("[4]")[0]
    else:
        assert "pip install sentinelkit-health" in out
    if "incident_close (destructive)" in out:  # the write asked through elicitation, then applied
        assert "the server asks: Confirm: close incident" in out and "the demo answers: yes" in out
        assert "is now Closed" in out
    else:
        assert "pip install sentinelkit-incidents" in out
    config = json.loads(out[out.index("{\n"):])
    server = config["mcpServers"]["sentinel"]
    assert server["args"][-4:] == ["serve", "--emulator", "--emulator-state",
                                   str(tmp_path / "state" / "sentinelkit" / "demo-emulator.sqlite")]
