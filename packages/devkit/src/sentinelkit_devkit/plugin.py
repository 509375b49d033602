"""The devkit as a sentinelkit plugin: the ``demo`` command, ``--emulator`` (and ``--emulator-state``) for
``serve``, ``call`` and ``config check``, and the hook packs implement to add demo steps."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sentinelkit import CommandRegistrar, HookspecRegistrar, hookimpl

EMULATOR_COMMANDS = ("serve", "call", "config check")


@contextmanager
def with_emulator(args: argparse.Namespace) -> Iterator[None]:
    """``--emulator``: start the embedded emulator, point this process at it, stop it (and remove its
    files) when the command ends however it ends."""
    if not getattr(args, "emulator", False):
        if getattr(args, "emulator_state", None) is not None:
            raise SystemExit("sentinelkit: --emulator-state needs --emulator (it is the emulator's state file)")
        yield
        return
    from .emulator import start_emulator

    emu = start_emulator(state_file=getattr(args, "emulator_state", None))
    try:
        yield
    finally:
        emu.stop()


def run_demo(args: argparse.Namespace) -> int:
    import sys

    from .demo import run_demo as tour

    return tour(color=not args.no_color and sys.stdout.isatty())


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-color", action="store_true", help="plain text, no ANSI colours")


@hookimpl
def register_commands(register: CommandRegistrar) -> None:
    register("demo", run_demo, help="a short tour against the embedded emulator", arguments=demo_arguments)
    register.option("--emulator", commands=EMULATOR_COMMANDS, around=with_emulator, action="store_true",
                    help="start the embedded Azure emulator and use it (sentinelkit-devkit)")
    register.option("--emulator-state", commands=("serve",), type=Path, metavar="FILE",
                    help="with --emulator: keep the emulator's state in FILE across restarts")


@hookimpl
def register_hookspecs(register: HookspecRegistrar) -> None:
    from . import hookspecs

    register(hookspecs)
