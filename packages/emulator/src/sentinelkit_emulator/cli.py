"""``sentinelkit-emulator``: serve the emulator and print one JSON line once it is ready."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from .runner import Emulator, world_size
from .scenario.plan import SCENARIOS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sentinelkit-emulator",
        description="Offline HTTPS stand-in for Entra ID, Azure Resource Manager and the Log Analytics query API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default: 0)")
    parser.add_argument("--scenario", default="mssp", choices=sorted(SCENARIOS), help="initial state (default: mssp)")
    parser.add_argument("--tenants", type=int, metavar="N", help="a generated MSSP world instead of the scenario's "
                        "six workspaces: N customer tenants, each delegated through Lighthouse (with "
                        "--workspaces-per-tenant); every workspace is seeded at its first use")
    parser.add_argument("--workspaces-per-tenant", type=int, metavar="M", help="Sentinel workspaces per customer "
                        "tenant of a generated world (with --tenants): N x M workspaces in all")
    parser.add_argument("--state-file", type=Path, help="keep changes in this file (SQLite; created if missing): "
                        "each change is saved as it is made, and the next start serves the scenario as of then "
                        "with the changes on top")
    parser.add_argument("--data-dir", type=Path, help="where the CA and client certificates are written (default: "
                        "FILE-files beside the state file, else a temporary directory; either is removed at exit)")
    parser.add_argument("--env-file", type=Path, help="also write the environment that points a client at the "
                        "emulator to this file (KEY=value lines, for `set -a; . FILE; set +a`) once it serves; "
                        "removed at exit")
    return parser.parse_args(argv)


def _write_env(path: Path, env: dict[str, str]) -> None:
    """KEY='value' lines a POSIX shell can source; written whole (temp + rename), owner-only (secrets)."""
    import os
    import shlex

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{k}={shlex.quote(str(v))}\n" for k, v in env.items()), encoding="utf-8")
    tmp.chmod(0o600)
    os.replace(tmp, path)


async def _serve(emulator: Emulator, env_file: Path | None = None) -> None:
    server = emulator.prepare()
    task = asyncio.create_task(server.serve(sockets=emulator.sockets))
    while not server.started:
        if task.done():
            await task  # re-raise the start-up failure
            return
        await asyncio.sleep(0.01)
    if env_file is not None:  # plus its process id, to stop it however it was started (`kill $...PID`)
        import os

        _write_env(env_file, {**emulator.info["env"], "SENTINELKIT_EMULATOR_PID": str(os.getpid())})
    sys.stdout.write(json.dumps(emulator.info) + "\n")
    sys.stdout.flush()
    await task


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        world_size(args.tenants, args.workspaces_per_tenant)
    except ValueError as exc:
        print(f"sentinelkit-emulator: {exc}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {args.host}: the emulator has no real security; keep it on loopback",
              file=sys.stderr)
    emulator = Emulator(scenario=args.scenario, port=args.port, host=args.host, state_file=args.state_file,
                        data_dir=args.data_dir, tenants=args.tenants, workspaces_per_tenant=args.workspaces_per_tenant)
    # uvicorn catches SIGINT/SIGTERM, shuts down gracefully, then re-raises the signal to the handler
    # that was installed before it: make that a no-op so that a requested stop exits with status 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        asyncio.run(_serve(emulator, args.env_file))
    except OSError as exc:
        print(f"sentinelkit-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    finally:
        emulator.stop()
        if args.env_file is not None:
            args.env_file.unlink(missing_ok=True)  # it names files that no longer exist
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
