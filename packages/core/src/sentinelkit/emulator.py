"""The embedded emulator (``--emulator``): start it and point this process's settings at it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def start_emulator(*, write_config: bool = True, state_file: str | Path | None = None) -> Any:
    """Start ``sentinelkit_emulator.Emulator`` in a background thread and export its environment.

    Also writes a ``sentinelkit.toml`` next to its CA (unless ``SENTINELKIT_CONFIG`` is set) that adds
    the one customer reached with its own credential rather than through Lighthouse.
    """
    try:
        from sentinelkit_emulator import Emulator  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SystemExit(
            "--emulator needs the emulator package: pip install sentinelkit-emulator "
            f"(or install sentinelkit[emulator]); import failed: {exc}"
        ) from exc
    emu = Emulator(state_file=state_file).start()
    try:
        info = emu.info
        os.environ.update({k: str(v) for k, v in info["env"].items()})
        if write_config and not os.environ.get("SENTINELKIT_CONFIG"):
            path = Path(info["ca_path"]).parent / "sentinelkit.toml"  # the emulator's folder: removed with it
            path.write_text(emulator_config(info), encoding="utf-8")
            os.environ["SENTINELKIT_CONFIG"] = str(path)
    except BaseException:
        emu.stop()
        raise
    return emu


def emulator_config(info: dict[str, Any]) -> str:
    """A configuration for the emulator's scenario: each customer tenant also gets its own credential.

    Customers delegated through Lighthouse are still reached through the managing tenant's credential
    (discovery keeps the first way it finds a workspace); the others only through their own.
    """
    lines = ["# written by sentinelkit --emulator", "discover = true", ""]
    for tenant in info["tenants"]:
        if tenant["id"] == info["managing_tenant_id"]:
            continue
        lines += [
            f"[tenants.{tenant['name']}]",
            f'tenant_id = "{tenant["id"]}"',
            'credential = "secret"',
            f'client_id = "{tenant["client_id"]}"',
            f'client_secret = "{tenant["client_secret"]}"',
            "",
        ]
    return "\n".join(lines) + "\n"


def emulator_environment(info: dict[str, Any], workdir: Path) -> dict[str, str]:
    """Environment variables for a server (in-process or subprocess) backed by the emulator."""
    config = workdir / "sentinelkit.toml"
    config.write_text(emulator_config(info), encoding="utf-8")
    env = {k: str(v) for k, v in info["env"].items()}
    env["SENTINELKIT_CONFIG"] = str(config)
    env["SENTINELKIT_AUDIT_LOG"] = str(workdir / "audit.jsonl")
    env["SENTINELKIT_EXPORT_DIR"] = str(workdir / "exports")
    env["FASTMCP_CHECK_FOR_UPDATES"] = "off"
    env["FASTMCP_SHOW_SERVER_BANNER"] = "false"
    return env
