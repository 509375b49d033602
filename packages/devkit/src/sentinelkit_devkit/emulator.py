"""The embedded emulator (``--emulator``): start it and point this process's settings at it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def start_emulator(*, write_config: bool = True, state_file: str | Path | None = None) -> Any:
    """Start ``sentinelkit_emulator.Emulator`` in a background thread and export its environment (which
    names the ``sentinelkit.toml`` it wrote, giving each customer tenant its own credential), unless
    ``SENTINELKIT_CONFIG`` is set already or ``write_config`` is false."""
    try:
        from sentinelkit_emulator import Emulator  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SystemExit(
            f"--emulator needs the emulator package, sentinelkit-emulator (a dependency of sentinelkit-devkit); "
            f"reinstall sentinelkit-devkit. Import failed: {exc}"
        ) from exc
    emu = Emulator(state_file=state_file).start()
    try:
        info = emu.info
        keep_config = bool(os.environ.get("SENTINELKIT_CONFIG")) or not write_config
        os.environ.update({k: str(v) for k, v in info["env"].items()
                           if not (k == "SENTINELKIT_CONFIG" and keep_config)})
        folder = Path(info["ca_path"]).parent  # the emulator's folder: removed with it
        # the emulator's writes are not the user's: they are audited beside the emulator's state (kept with
        # it), or in its folder, never in the real audit log; files go to an export folder of its own
        keep = Path(state_file).expanduser() if state_file else None
        os.environ.setdefault("SENTINELKIT_AUDIT_LOG", str(keep.with_name(keep.name + ".audit.jsonl") if keep
                                                            else folder / "audit.jsonl"))
        os.environ.setdefault("SENTINELKIT_EXPORT_DIR", str(keep.with_name(keep.name + ".exports") if keep
                                                             else folder / "exports"))
    except BaseException:
        emu.stop()
        raise
    return emu


def emulator_environment(info: dict[str, Any], workdir: Path) -> dict[str, str]:
    """Environment variables for a server (in-process or subprocess) backed by the emulator: its own (which
    names the configuration it wrote), with the audit log and the export directory in ``workdir``."""
    env = {k: str(v) for k, v in info["env"].items()}
    env["SENTINELKIT_AUDIT_LOG"] = str(workdir / "audit.jsonl")
    env["SENTINELKIT_EXPORT_DIR"] = str(workdir / "exports")
    env["FASTMCP_CHECK_FOR_UPDATES"] = "off"
    env["FASTMCP_SHOW_SERVER_BANNER"] = "false"
    return env
